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
  local body = "first_name=Bench&last_name=Last&email=" .. email ..
    "&organisation=Gent&role=medewerker&function=&remarks=&consent=y"
  return wrk.format("POST", os.getenv("BENCH_PATH"), {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    -- What a browser sends with a form of our own page.
    ["Sec-Fetch-Site"] = "same-origin",
    ["Origin"] = os.getenv("BENCH_ORIGIN"),
    ["HX-Request"] = "true",
  }, body)
end
