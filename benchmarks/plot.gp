# The chart of a benchmark run: natscoro/raw ratios (with the targets) and the
# latency percentiles of B and D. scripts/bench.sh runs it as
#   gnuplot -e "dir='RESULTS_DIR'" benchmarks/plot.gp > latest.svg
# on the files `natscoro_bench summary` wrote into RESULTS_DIR.
set terminal svg size 900,760 dynamic font "sans,11" background "white"
set multiplot layout 2,1

set title "natscoro / raw nats.c (medians; the same-job baseline for A, C, E): above 1 = natscoro higher; targets as diamonds"
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.7 border -1
set boxwidth 0.8
set yrange [0:*]
set offsets 0, 0, graph 0.15, 0
set grid ytics
set xtics rotate by -25 noenhanced
set key top center horizontal
plot dir."/ratios.dat" using 2:xtic(1) title "natscoro / raw" lc rgb "#3b75af", \
     "" using 0:3 with points pt 13 ps 1.5 lc rgb "#c03030" title "target", \
     1 with lines dt 2 lc rgb "#555555" notitle

set title "latency (ms, medians over rounds): B = publish with PubAck, D = publish to next()"
set key top center horizontal
plot dir."/latency.dat" using 2:xtic(1) title "natscoro" lc rgb "#3b75af", \
     "" using 3 title "raw nats.c" lc rgb "#e08a2c"
unset multiplot
