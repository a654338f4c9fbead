#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Source layout boundaries, checked on the tree (issue 9).

The folders are the architecture; the compiler alone does not keep them
apart, so this test does:
  1. a *_internal.h header is included only from its own folder;
  2. dataplane/core/ is EAL-free: no DPDK header (rte_*.h) and nothing
     from config/, control/ or dataplane/evrd/;
  3. dataplane/ includes nothing from control/, except evrd's main and
     its control-thread glue, which host the control server;
  4. no helper (static function, function-like macro) is copied between
     dataplane/core/ files: a helper two files need belongs in util/
     (bytes, hashes) or in its subsystem's header, once;
  5. every C file in dataplane/core/ is listed in a meson.build.
Each failure names the file and line. Usage: test_layout.py [SRCROOT].
"""
import os
import re
import sys

root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else
                       os.path.join(os.path.dirname(__file__), '..', '..'))
failures = []


def fail(msg):
    failures.append(msg)
    print('FAIL: ' + msg)


def sources(top, exts=('.c', '.h', '.cc')):
    for d, dirs, files in os.walk(os.path.join(root, top)):
        dirs[:] = [x for x in dirs if not x.startswith('.') and x != 'build']
        for f in sorted(files):
            if f.endswith(exts):
                yield os.path.join(d, f)


def rel(p):
    return os.path.relpath(p, root)


INC = re.compile(r'^\s*#\s*include\s+([<"])([^">]+)[">]')
CORE = os.path.join(root, 'dataplane', 'core')
CONTROL_HOSTS = {'dataplane/evrd/evrd.c', 'dataplane/evrd/evr_ctl_thread.c',
                 'dataplane/evrd/evr_ctl_thread.h'}
all_files = [p for top in ('dataplane', 'control', 'config', 'tests', 'bench')
             for p in sources(top)]

# -- 1, 2, 3: includes
checked = 0
for p in all_files:
    in_core = p.startswith(CORE + os.sep)
    in_dataplane = p.startswith(os.path.join(root, 'dataplane') + os.sep)
    with open(p, encoding='utf-8', errors='replace') as fh:
        for ln, line in enumerate(fh, 1):
            m = INC.match(line)
            if not m:
                continue
            checked += 1
            kind, name = m.groups()
            base = os.path.basename(name)
            if kind == '"' and base.endswith('_internal.h'):
                here = os.path.join(os.path.dirname(p), base)
                if '/' in name or not os.path.exists(here):
                    fail(f'{rel(p)}:{ln}: includes {name}, private to another folder')
            if in_core and (base.startswith('rte_') or
                            base in ('evr_config.h', 'evr_control.h', 'evr_methods.h')):
                fail(f'{rel(p)}:{ln}: the core must stay EAL-free and below '
                     f'config/control/evrd, but includes {name}')
            if in_dataplane and kind == '"' and base in ('evr_control.h',
                                                         'evr_control_internal.h',
                                                         'evr_methods.h'):
                # evrd hosts the control server: only its main and the
                # control-thread glue start and poll it (evr_control.h)
                if base != 'evr_control.h' or rel(p) not in CONTROL_HOSTS:
                    fail(f'{rel(p)}:{ln}: the dataplane includes control/ ({name})')

# -- 4: no helper copied between dataplane/core files. A file-local
# function (static) or function-like macro whose body, whitespace and
# comments aside, equals one in another core file is a copy; a helper two
# files need belongs in util/ (bytes, hashes) or its subsystem's header.
FN = re.compile(r'^static\s+[\w\s\*]+?\b(\w+)\s*\(')
MACRO = re.compile(r'^\s*#\s*define\s+(\w+)\((.*)$')
COMMENT = re.compile(r'/\*.*?\*/|//[^\n]*', re.S)


def norm(txt):
    return re.sub(r'\s+', '', COMMENT.sub('', txt))


bodies = {}
n_defs = 0
for p in sources('dataplane/core'):
    with open(p, encoding='utf-8', errors='replace') as fh:
        lines = fh.read().split('\n')
    for i, line in enumerate(lines):
        m = MACRO.match(line)
        if m:
            txt = line
            j = i
            while txt.endswith('\\') and j + 1 < len(lines):
                j += 1
                txt += lines[j]
            body = norm(txt.split(')', 1)[1] if ')' in txt else txt)
            if body:
                n_defs += 1
                bodies.setdefault(('macro', body), []).append((m.group(1), f'{rel(p)}:{i + 1}'))
            continue
        m = FN.match(line)
        if not m or line.rstrip().endswith(';'):
            continue
        # the body: from the first '{' to its matching '}'
        depth, started, txt = 0, False, []
        for j in range(i, min(i + 400, len(lines))):
            l = COMMENT.sub('', lines[j])
            txt.append(l)
            if ';' in l and not started and '{' not in l:
                break  # a prototype spread over lines
            depth += l.count('{') - l.count('}')
            started = started or '{' in l
            if started and depth <= 0:
                break
        if not started:
            continue
        full = norm('\n'.join(txt))
        body = full[full.index('{'):]
        if len(body) < 24:
            continue  # "{return x;}" one-liners say nothing
        n_defs += 1
        bodies.setdefault(('fn', body), []).append((m.group(1), f'{rel(p)}:{i + 1}'))
for (kind, _), where in sorted(bodies.items(), key=lambda kv: kv[1][0][1]):
    files = {w[1].rsplit(':', 1)[0] for w in where}
    if len(files) > 1:
        fail('the same ' + ('macro' if kind == 'macro' else 'function') + ' is defined in ' +
             f'{len(files)} core files: ' + ', '.join(f'{n} ({w})' for n, w in where))

# -- 5: every core C file is built
listed = set()
for d, _, files in os.walk(CORE):
    if 'meson.build' in files:
        txt = open(os.path.join(d, 'meson.build')).read()
        for f in re.findall(r"'([^']+\.c)'", txt):
            listed.add(os.path.normpath(os.path.join(d, f)))
for p in sources('dataplane/core', ('.c',)):
    if os.path.normpath(p) not in listed:
        fail(f'{rel(p)} is not listed in any meson.build')

print(f'{checked} includes, {n_defs} core helper definitions checked; '
      f'{len(failures)} failure(s)')
sys.exit(1 if failures else 0)
