"""Assertions shared by the API tests."""


def assert_error(response, status: int, code: str | None = None) -> dict:
    """The response is an error in the API.md shape: {code, detail, fields?}, nothing else."""
    assert response.status_code == status, (response.status_code, getattr(response, "content", b"")[:500])
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert set(body) <= {"code", "detail", "fields"}, body
    assert isinstance(body["code"], str) and body["code"]
    assert isinstance(body["detail"], str) and body["detail"]
    if code is not None:
        assert body["code"] == code, body
    if "fields" in body:
        assert body["code"] == "validation_error", body
        assert all(isinstance(v, list) and v for v in body["fields"].values()), body
    return body


def ledger_sum(member) -> int:
    """The sum of a member's ledger amounts: what the cached balance must equal."""
    from django.db.models import Sum

    from members_app.models import CreditTransaction

    return CreditTransaction.objects.filter(member=member).aggregate(total=Sum("amount"))["total"] or 0
