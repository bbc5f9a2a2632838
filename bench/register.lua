-- A registration POST with a distinct e-mail address per request (per thread and counter).
local counter = 0
local thread_id = 0
local threads = {}

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  thread_id = id
end

request = function()
  counter = counter + 1
  local email = "bench-" .. thread_id .. "-" .. counter .. "-" .. math.random(1, 1000000000) .. "@example.org"
  local body = "csrf_token=" .. os.getenv("BENCH_CSRF") ..
    "&first_name=Bench&last_name=Last&email=" .. email ..
    "&organisation=Gent&role=medewerker&function=&remarks=&consent=y"
  return wrk.format("POST", os.getenv("BENCH_PATH"), {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Cookie"] = os.getenv("BENCH_COOKIE"),
    ["HX-Request"] = "true",
  }, body)
end
