"""`?as_of=N` on any GET answers from the service's projections rebuilt from the log up to sequence
N, with the live query code: what the service said at that moment. Read-only."""

from __future__ import annotations

from intake_support import OFFICE, Api, World, error, report


async def test_a_query_as_of_a_past_sequence_equals_the_live_answer_then(api: Api, world: World) -> None:
    first = await report(api, world, title="第一个问题")
    then = await api.last_log_sequence()
    live_then = (await api.get(OFFICE, "/v1/problems", round_id=world.round_id)).json()
    await report(api, world, title="第二个问题")
    now = (await api.get(OFFICE, "/v1/problems", round_id=world.round_id)).json()
    assert now["total"] == 2

    past = await api.get(OFFICE, "/v1/problems", round_id=world.round_id, as_of=then)
    assert past.status_code == 200, past.text
    assert past.json() == live_then and [p["id"] for p in past.json()["items"]] == [first]
    assert (await api.get(OFFICE, f"/v1/problems/{first}", as_of=then)).json()["title"] == "第一个问题"
    assert (await api.get(OFFICE, "/v1/problems", as_of=0)).json()["total"] == 0


async def test_as_of_is_read_only_and_bounded(api: Api, world: World) -> None:
    last = await api.last_log_sequence()
    r = await api.svc.client.post(f"/v1/problems?as_of={last}", json={}, headers=api.svc.headers(world.team))
    assert r.status_code == 405 and error(r)["code"] == "read_only"
    for bad in (last + 1000, -1, "yesterday"):
        r = await api.get(OFFICE, "/v1/problems", as_of=bad)
        assert r.status_code == 422 and error(r)["field"] == "as_of"
