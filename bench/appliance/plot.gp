# Appliance benchmark: evrd events/s and notifications/s per second of the
# run, the two measurement windows (baseline, churn) shaded, and the
# dpdk-testpmd io-forward rate on the same vdevs as the ceiling.
# Usage: gnuplot -e "dir='out/bench/appliance'; outfile='out/bench/appliance.png'" bench/appliance/plot.gp
if (!exists("dir")) dir = 'out/bench/appliance'
if (!exists("outfile")) outfile = 'out/bench/appliance.png'
load dir.'/phases.gp'
set terminal pngcairo size 1000,600 font ",11"
set output outfile
set title "evrd on net\\_pcap -> net\\_null, one worker core (testpmd ceiling ".sprintf("%.1f", testpmd/1e6)." Mpps, off scale)"
set xlabel "evrd uptime (s)"
set ylabel "per second"
set format y "%.1s%c"
set grid
set key below
set yrange [0:*]
set object 1 rect from base0, graph 0 to base1, graph 1 fc rgb "#d0e8ff" fs solid 0.5 behind
set object 2 rect from churn0, graph 0 to churn1, graph 1 fc rgb "#ffe0c0" fs solid 0.5 behind
set label 1 "baseline window" at base0, graph 0.95 offset 1,0
set label 2 "churn window" at churn0, graph 0.95 offset 1,0
plot dir.'/rates.dat' using 1:2 with lines lw 2 title "events/s", \
     dir.'/rates.dat' using 1:3 with lines lw 2 title "notifications/s"
