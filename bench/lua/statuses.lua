-- Every response's status counted, and printed after done()'s line as one more JSON line,
-- BENCHSTATUS {"200":n,"400":m}: for rows that count one status only (wrk's own count is of
-- statuses above 399). Load it after done.lua, whose done() it wraps; it defines setup().
local threads = {}
local report = done

statuses = {}  -- in each thread's environment: status -> responses

setup = function(thread)
  table.insert(threads, thread)
end

response = function(status)
  statuses[status] = (statuses[status] or 0) + 1
end

done = function(summary, latency, requests)
  report(summary, latency, requests)
  local counts = {}
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses")) do counts[status] = (counts[status] or 0) + n end
  end
  local fields = {}
  for status, n in pairs(counts) do table.insert(fields, string.format('"%d":%d', status, n)) end
  io.write("BENCHSTATUS {" .. table.concat(fields, ",") .. "}\n")
end
