# Matcher throughput vs live subscriptions, hybrid index vs naive twin.
# Usage: gnuplot -e "datafile='out/bench/match.dat'; outfile='out/bench/match.png'" bench/plot.gp
if (!exists("datafile")) datafile = 'out/bench/match.dat'
if (!exists("outfile")) outfile = 'out/bench/match.png'
set terminal pngcairo size 900,600 font ",11"
set output outfile
set datafile missing "?"
set title "evrouter matcher: events/s vs live subscriptions (one core, about 3 notifications per event)"
set xlabel "live subscriptions"
set ylabel "events/s"
set logscale xy
set xrange [500:2e6]
set format x "10^{%L}"
set format y "10^{%L}"
set grid xtics ytics mxtics mytics
set key top right
plot datafile using 1:2 with linespoints lw 2 pt 7 title "hybrid (hash + Hyperscan)", \
     datafile using 1:3 with linespoints lw 2 pt 5 title "naive (linear walk + fnmatch)"
