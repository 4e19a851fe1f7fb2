"""Sign-in (demo accounts or OIDC), sign-out, and the role-dependent home."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from fastapi import Form, Request
from fastapi.responses import RedirectResponse, Response

from ..auth import actor_of
from ..city import ROLE_ORDER
from ..runtime import check_csrf, get_web, home_of, render, session_of
from ..session import COOKIE, FLOW_COOKIE, Session
from .common import redirect, router, safe_next

log = logging.getLogger("ducha.web.auth")
r = router()


def _set_session(resp: Response, request: Request, web: object, session: Session) -> None:
    settings = web.settings  # type: ignore[attr-defined]
    resp.set_cookie(COOKIE, web.codec.dumps(session), max_age=int(settings.session_hours * 3600),  # type: ignore[attr-defined]
                    httponly=True, samesite="lax", secure=settings.cookie_secure, path="/")


@r.get("/", include_in_schema=False)
async def home(request: Request) -> Response:
    session = await session_of(request)
    if session is None:
        return RedirectResponse("/login", status_code=303)
    return RedirectResponse(home_of(session.actor), status_code=303)


@r.get("/login", include_in_schema=False)
async def login_page(request: Request, next: str = "/", error: str = "") -> Response:
    web = await get_web(request)
    accounts = await web.directory.accounts() if web.settings.auth == "demo" else []
    groups = [(role, [a for a in accounts if a.role == role]) for role in ROLE_ORDER]
    return await render(request, "login.html", None, mode=web.settings.auth, next=safe_next(next),
                        groups=[g for g in groups if g[1]], error=error)


@r.post("/login", include_in_schema=False)
async def login(request: Request, account: str = Form(...), next: str = Form("/")) -> Response:
    web = await get_web(request)
    if web.settings.auth != "demo":
        return redirect("/login")
    found = await web.directory.find(account)
    if found is None:
        return await render(request, "login.html", None, mode="demo", next=safe_next(next), groups=[],
                            error="没有这个演示账号", status_code=400)
    actor = actor_of(found)
    session = Session.new(web.minter.mint(actor), actor, found.org_name)
    target = safe_next(next, home_of(actor))
    if target == "/":
        target = home_of(actor)
    resp = RedirectResponse(target, status_code=303)
    _set_session(resp, request, web, session)
    log.info("signed in %s (%s)", actor.id, actor.role.value)
    return resp


async def revoke_session_token(web: object, token: str) -> None:
    """Signing out revokes the session's token in every service (the JetStream bucket they watch),
    not only the cookie: a copied token stops working within seconds."""
    import jwt
    from ducha.kernel.revocation import revoke

    kernel = getattr(web, "kernel", None)
    claims = jwt.decode(token, options={"verify_signature": False})  # our own token, from our signed cookie
    if not claims.get("jti"):
        return
    if kernel is None:
        log.warning("sign-out: no NATS connection in this process; the token stays valid until it expires")
        return
    expires = datetime.fromtimestamp(int(claims.get("exp", 0)), UTC)
    await revoke(kernel.nc.jetstream(), str(claims["jti"]), expires, kernel.settings.stream_replicas)


@r.post("/logout", include_in_schema=False)
async def logout(request: Request) -> Response:
    session = await session_of(request)
    if session is not None:
        check_csrf(session, await request.form())
        await revoke_session_token(await get_web(request), session.token)
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(COOKIE, path="/")
    return resp


# ------------------------------------------------------------------------------------- OIDC
@r.get("/auth/oidc/start", include_in_schema=False)
async def oidc_start(request: Request, next: str = "/") -> Response:
    web = await get_web(request)
    if web.oidc is None:
        return redirect("/login")
    url, flow = await web.oidc.start()
    flow["next"] = safe_next(next)
    resp = RedirectResponse(url, status_code=303)
    resp.set_cookie(FLOW_COOKIE, web.codec.dumps_flow(flow), max_age=600, httponly=True, samesite="lax",
                    secure=web.settings.cookie_secure, path="/")
    return resp


@r.get("/auth/callback", include_in_schema=False)
async def oidc_callback(request: Request, code: str = "", state: str = "", error: str = "") -> Response:
    web = await get_web(request)
    flow = web.codec.loads_flow(request.cookies.get(FLOW_COOKIE))
    if web.oidc is None or flow is None or error or not code:
        return RedirectResponse("/login?error=" + ("统一身份认证未完成" if error else "登录已过期，请重试"),
                                status_code=303)
    try:
        actor = await web.oidc.finish(code, state, flow)
    except PermissionError:
        return RedirectResponse("/login?error=您的账号未分配督查系统角色，请联系管理员", status_code=303)
    except Exception as exc:  # noqa: BLE001
        log.warning("OIDC sign-in failed: %r", exc)
        return RedirectResponse("/login?error=统一身份认证失败", status_code=303)
    session = Session.new(web.minter.mint(actor), actor, "")
    resp = RedirectResponse(safe_next(flow.get("next"), home_of(actor)), status_code=303)
    resp.delete_cookie(FLOW_COOKIE, path="/")
    _set_session(resp, request, web, session)
    return resp
