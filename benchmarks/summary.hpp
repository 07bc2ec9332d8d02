// The summary of a benchmark run: medians per workload and client, the
// natscoro/raw ratios against the targets, and the files behind the chart.
#pragma once

namespace bench {

/// `natscoro_bench summary RESULTS.jsonl OUT.json PLOT_DIR [MACHINE]`
///
/// Reads the JSON lines every run printed; prints one JSON line per workload and
/// client (the medians over its rounds) and a Markdown table of the medians,
/// ratios and targets; writes OUT.json and PLOT_DIR/{ratios,latency}.dat for
/// benchmarks/plot.gp. Returns 1 if a workload lacks either client's results:
/// the benchmark itself is broken. A missed target is reported, not an error.
int summarize(int argc, char** argv);

}  // namespace bench
