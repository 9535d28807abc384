-- wrk script: POST pre-built bodies round robin; written by bench/load.py's caller.
--
-- Configured through the environment (setup() cannot see script arguments):
--   BENCH_PATH     request path
--   BENCH_BODIES   file name pattern with %d for the thread number, one body per line
--   BENCH_HEADERS  "Name: value" lines
--   BENCH_PORTS    comma-separated ports on 127.0.0.1, one per thread (several instances)
--   BENCH_EXPECT   if set, count 200 responses whose body contains it (parsing costs CPU)
--   BENCH_RUN      unique per run: with the request number it replaces {{seq}} in bodies
--   BENCH_OFFSETS  comma-separated, per thread: where in its bodies to start (where the
--                  previous run stopped, so each visitor keeps its pace across runs)
-- done() prints one line "BENCH_RESULT {json}", with the first unexpected response if any.

local threads = {}

function setup(thread)
   local id = #threads
   table.insert(threads, thread)
   thread:set("id", id)
   local ports = {}
   for port in string.gmatch(os.getenv("BENCH_PORTS") or "", "%d+") do
      table.insert(ports, port)
   end
   if #ports > 0 then
      thread.addr = wrk.lookup("127.0.0.1", ports[id % #ports + 1])[1]
   end
end

function init(args)
   path = os.getenv("BENCH_PATH")
   headers = {}
   for name, value in string.gmatch(os.getenv("BENCH_HEADERS") or "", "([^:\n]+):%s*([^\n]*)") do
      headers[name] = value
   end
   -- Bodies without a placeholder are formatted once: request() then costs a table lookup.
   -- The others are split around their placeholders once, so request() only joins pieces.
   entries = {}
   for line in io.lines(string.format(os.getenv("BENCH_BODIES"), id)) do
      if line:find("{{seq}}", 1, true) then
         local pieces, start = {}, 1
         while true do
            local at = line:find("{{seq}}", start, true)
            table.insert(pieces, line:sub(start, (at or 0) - 1))
            if not at then break end
            table.insert(pieces, false)  -- where the sequence goes
            start = at + 7
         end
         table.insert(entries, pieces)
      else
         table.insert(entries, wrk.format("POST", path, headers, line))
      end
   end
   prefix = (os.getenv("BENCH_RUN") or "") .. "t" .. id .. "n"
   expect = os.getenv("BENCH_EXPECT")
   if expect == nil or expect == "" then
      response = nil
   end
   local offsets = {}
   for offset in string.gmatch(os.getenv("BENCH_OFFSETS") or "", "%d+") do
      table.insert(offsets, tonumber(offset))
   end
   sent, checked, matched = offsets[id + 1] or 0, 0, 0
end

function request()
   sent = sent + 1
   local entry = entries[(sent - 1) % #entries + 1]
   if type(entry) == "string" then
      return entry
   end
   local seq, parts = prefix .. sent, {}
   for i, piece in ipairs(entry) do
      parts[i] = piece or seq
   end
   return wrk.format("POST", path, headers, table.concat(parts))
end

function response(status, headers, body)
   checked = checked + 1
   if status == 200 and body:find(expect, 1, true) then
      matched = matched + 1
   elseif unexpected == nil then
      unexpected = status .. " " .. body:sub(1, 400)
   end
end

local function json_string(text)
   return '"' .. text:gsub('[%c"\\]', function(c) return string.format("\\u%04x", c:byte()) end) .. '"'
end

function done(summary, latency, requests)
   local checked_all, matched_all, unexpected_first, sent_each = 0, 0, "", {}
   for _, thread in ipairs(threads) do
      table.insert(sent_each, thread:get("sent") or 0)
      checked_all = checked_all + (thread:get("checked") or 0)
      matched_all = matched_all + (thread:get("matched") or 0)
      if unexpected_first == "" then
         unexpected_first = thread:get("unexpected") or ""
      end
   end
   local e = summary.errors
   io.write(string.format(
      'BENCH_RESULT {"requests":%d,"duration_us":%d,"bytes":%d,'
         .. '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},'
         .. '"latency_us":{"min":%d,"mean":%.1f,"p50":%d,"p90":%d,"p99":%d,"p999":%d,"max":%d},'
         .. '"checked":%d,"matched":%d,"unexpected":%s,"sent":[%s]}\n',
      summary.requests, summary.duration, summary.bytes,
      e.connect, e.read, e.write, e.status, e.timeout,
      latency.min, latency.mean, latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency:percentile(99.9), latency.max,
      checked_all, matched_all, json_string(unexpected_first), table.concat(sent_each, ",")))
end
