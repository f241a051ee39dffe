from tests.web.test_api_series import people, series_body  # noqa: F401


def test_repro(api, people, client):  # noqa: F811
    r = api.post("/clients", {"first_name": "Jo\x00", "last_name": "Q", "phone": "(206) 555-0143", "home_location_id": "seattle", "sms_consent": True})
    print("nul", r.status_code, r.json)
    for p in ["/series/2147483648", "/series/9223372036854775808", "/clients/99999999999999999999999"]:
        r = api.get(p); print(p, r.status_code)
    for t in ["09:00Z", "09:00+05:00"]:
        r = api.post("/series", series_body(people, start_time=t)); print(t, r.status_code, r.json)
    r = api.post("/series", series_body(people, first_session_date="9999-12-01")); print("9999", r.status_code, r.json)
    r = api.post("/series", series_body(people, client_id=2**31)); print("bodyid", r.status_code, r.json)
    r = api.post("/series", series_body(people, client_id=2**63)); print("bodyid63", r.status_code, r.json)
    r = client.get("/clients/2147483648"); print("page", r.status_code)
    r = client.get("/clients/9223372036854775808"); print("page", r.status_code)
