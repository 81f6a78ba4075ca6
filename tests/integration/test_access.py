"""Per-person access on the worker's live streams: a rep reads only its own inbox, ops the
alerts; no token, a forged or an expired one is refused; tokens never reach the log."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp

from crmstream.settings import Settings
from tests.integration.conftest import produce, sse_events, token_for
from tests.integration.test_pool import cmd
from web.identity import Role


async def status_of(port: int, path: str, headers: dict[str, str] | None = None
                    ) -> tuple[int, dict[str, Any] | None]:
    async with aiohttp.ClientSession() as http, http.get(
            f"http://127.0.0.1:{port}{path}", headers=headers or {}) as r:
        if r.content_type == "application/json":
            return r.status, await r.json()
        r.close()  # a live stream: its status is all that is asked
        return r.status, None


async def test_each_person_reads_only_what_its_role_allows(
    settings: Settings, worker: Any
) -> None:
    w = worker()
    await w.wait_owns_partitions()
    own = token_for("rep-7", "rep")
    tokens = [own, token_for("rep-8", "rep"), token_for("ops-1", "ops"),
              token_for("rep-7", "rep", ttl_s=-1)]
    await produce(settings, [cmd(settings, "x1", "register", pool_id="default", level="C",
                                 name="x1", owner="rep-7")])

    def bearer(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    inbox = "/reps/rep-7/notices?since=0"
    assert (await status_of(w.port, inbox))[0] == 401
    code, body = await status_of(w.port, inbox, bearer(tokens[1]))
    assert (code, body) == (403, {"error": "a rep reads only its own inbox"})
    code, body = await status_of(w.port, inbox, bearer(tokens[3]))
    assert (code, body) == (401, {"error": "the token has expired"})
    forged = own[:-4] + ("AAAA" if not own.endswith("AAAA") else "BBBB")
    assert (await status_of(w.port, inbox, bearer(forged)))[0] == 401
    assert (await status_of(w.port, "/alerts", bearer(own)))[0] == 403
    assert (await status_of(w.port, "/alerts", bearer(tokens[2])))[0] == 200  # ops
    # a browser's EventSource sends the token in the query string
    [(_, notice)] = await sse_events(w.port, f"{inbox}&token={own}", want=1)
    assert (notice["customer_id"], notice["type"]) == ("x1", "assigned")
    [(_, same)] = await sse_events(w.port, inbox, want=1, who=("rep-7", "rep"))
    assert same == notice
    code, spec = await status_of(w.port, "/console/api/openapi.json")
    assert code == 200
    assert spec is not None
    assert "/console/api/claim" in spec["paths"]
    log = w.log_path.read_text(errors="replace")
    assert all(token not in log for token in [*tokens, forged])


async def test_a_page_hears_of_the_changes_it_shows_and_only_with_access(
    settings: Settings, worker: Any
) -> None:
    w = worker()
    await w.wait_owns_partitions()
    await produce(settings, [cmd(settings, "x2", "register", pool_id="default", level="C",
                                 name="x2", owner="rep-7")])
    await sse_events(w.port, "/reps/rep-7/notices?since=0", want=1, who=("rep-7", "rep"))

    def as_(person: str, role: Role) -> dict[str, str]:
        return {"Authorization": f"Bearer {token_for(person, role)}"}

    for path, headers, expected in [
        ("/console/changes?page=rep", {}, 401),
        ("/console/changes?page=bogus", as_("rep-7", "rep"), 400),
        ("/console/changes?page=team", as_("rep-7", "rep"), 403),
        ("/console/changes?page=rep", as_("ops-1", "ops"), 403),
        ("/console/changes?page=customer&customer=x2", as_("rep-8", "rep"), 403),
        ("/console/changes?page=customer&customer=nobody", as_("ops-1", "ops"), 403),
        ("/console/changes?page=customer&customer=x2", as_("ops-1", "ops"), 200),
    ]:
        assert (await status_of(w.port, path, headers))[0] == expected, (path, headers)

    async def after_a_moment() -> None:
        await asyncio.sleep(1)  # the stream has subscribed
        await produce(settings, [cmd(settings, "x2", "transfer", to_rep_id="rep-8")])

    # the transfer concerns rep-7's page (its customer left) but not rep-9's
    moved = asyncio.create_task(after_a_moment())
    heard = await sse_events(w.port, "/console/changes?page=rep", want=1, who=("rep-7", "rep"))
    await moved
    assert heard == [("", {})]
    quiet = asyncio.create_task(sse_events(w.port, "/console/changes?page=rep", want=1,
                                           who=("rep-9", "rep")))
    await asyncio.sleep(1)
    await produce(settings, [cmd(settings, "x2", "transfer", to_rep_id="rep-7")])
    await asyncio.sleep(2)
    assert not quiet.done()
    quiet.cancel()
