-- wrk script: POST a GitHub push payload, signed, with a unique X-GitHub-Delivery per request.
--
-- Usage: wrk -s bench/github_push.lua URL -- BODY_FILE SIGNATURE NONCE [IDS_FILE]
--   BODY_FILE  the payload (sent byte for byte; the signature covers it)
--   SIGNATURE  "sha256=<hex HMAC-SHA256 of the body>" (identical for every request, since the
--              body is; wrk's Lua has no HMAC, so run.py computes it once)
--   NONCE      makes delivery ids unique across wrk runs against the same store
--   IDS_FILE   optional: write the event ids from 2xx JSON bodies ({"id": ...}) here, one a line
--
-- Delivery id: "<nonce>-<thread>-<counter>". Each wrk thread is a separate Lua state, so
-- setup() numbers the threads and keeps them; done() reads their globals (thread:get) and
-- prints one parseable summary line:
--   BENCH_STATUS sent=N responses=N 2xx=N non2xx=N codes=202:N,...

local threads = {}
local thread_count = 0

function setup(thread)
   thread_count = thread_count + 1
   thread:set("tid", thread_count)
   table.insert(threads, thread)
end

-- per-thread state (each thread's own Lua state)
local body, signature, nonce, want_ids
local counter = 0
sent = 0
responses = 0
ok2xx = 0
codes = {}
ids = {}

local function read_file(path)
   local f = assert(io.open(path, "rb"))
   local data = f:read("*a")
   f:close()
   return data
end

function init(args)
   body = read_file(args[1])
   signature = args[2]
   nonce = args[3]
   want_ids = args[4] ~= nil and args[4] ~= ""
   if want_ids then
      ids_path = args[4]
   end
end

function request()
   counter = counter + 1
   sent = sent + 1
   local headers = {
      ["Content-Type"] = "application/json",
      ["X-GitHub-Event"] = "push",
      ["X-GitHub-Delivery"] = string.format("%s-%d-%d", nonce, tid, counter),
      ["X-Hub-Signature-256"] = signature,
      ["User-Agent"] = "GitHub-Hookshot/bench",
   }
   return wrk.format("POST", nil, headers, body)
end

function response(status, headers, resp_body)
   responses = responses + 1
   local key = tostring(status)
   codes[key] = (codes[key] or 0) + 1
   if status >= 200 and status < 300 then
      ok2xx = ok2xx + 1
      if want_ids then
         local id = string.match(resp_body, '"id"%s*:%s*"([^"]+)"')
         if id then
            ids[#ids + 1] = id
         end
      end
   end
end

function done(summary, latency, requests)
   local total = { sent = 0, responses = 0, ok2xx = 0 }
   local all_codes = {}
   local out = nil
   for _, thread in ipairs(threads) do
      total.sent = total.sent + thread:get("sent")
      total.responses = total.responses + thread:get("responses")
      total.ok2xx = total.ok2xx + thread:get("ok2xx")
      for code, n in pairs(thread:get("codes")) do
         all_codes[code] = (all_codes[code] or 0) + n
      end
      local path = thread:get("ids_path")
      if path then
         out = out or assert(io.open(path, "w"))
         for _, id in ipairs(thread:get("ids")) do
            out:write(id, "\n")
         end
      end
   end
   if out then
      out:close()
   end
   local parts = {}
   for code, n in pairs(all_codes) do
      parts[#parts + 1] = code .. ":" .. n
   end
   table.sort(parts)
   io.write(string.format(
      "BENCH_STATUS sent=%d responses=%d 2xx=%d non2xx=%d codes=%s\n",
      total.sent, total.responses, total.ok2xx, total.responses - total.ok2xx,
      table.concat(parts, ",")
   ))
end
