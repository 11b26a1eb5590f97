-- One weather message per request, as the original lab's load scripts send it.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"description":"Clima en GT 42","country":"GT","weather":"Nubloso"}'
