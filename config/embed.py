#!/usr/bin/env python3
# Build step: turn a text file into a C array so evrd carries its demo
# config (no runtime file lookup). Usage: embed.py INPUT OUTPUT SYMBOL
import sys

src, dst, sym = sys.argv[1:4]
data = open(src, 'rb').read()
with open(dst, 'w') as f:
    f.write('/* Generated from %s by config/embed.py: do not edit. */\n'
            % src.split('/')[-1])
    f.write('__attribute__((visibility("default"))) const char %s[%d] = {\n'
            % (sym, len(data) + 1))
    for i in range(0, len(data), 16):
        f.write('\t' + ', '.join('0x%02x' % b for b in data[i:i + 16]) + ',\n')
    f.write('\t0x00\n};\n')
