-- The report's done(): exact counts and percentiles on one BENCHJSON line (wrk's own summary
-- rounds them), and, when BENCH_HIST names a file, the quantile function written to it.
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,' ..
    '"write":%d,"status":%d,"timeout":%d,"p50":%.1f,"p75":%.1f,"p90":%.1f,"p99":%.1f,' ..
    '"max":%.1f,"mean":%.1f}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(75), latency:percentile(90),
    latency:percentile(99), latency.max, latency.mean))
  -- the quantile function (0.1 % steps, 0.01 % above p99), so split runs can be merged
  local path = os.getenv("BENCH_HIST")
  if path and summary.requests > 0 then
    local f = assert(io.open(path, "w"))
    for k = 1, 990 do
      f:write(string.format("%.2f %.1f\n", k / 10, latency:percentile(k / 10)))
    end
    for k = 9901, 10000 do
      f:write(string.format("%.2f %.1f\n", k / 100, latency:percentile(k / 100)))
    end
    f:close()
  end
end
