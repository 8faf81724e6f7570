-- The framework floor: GET /api/health (one SELECT 1), no auth.
wrk.method = "GET"
wrk.path = "/api/health"
