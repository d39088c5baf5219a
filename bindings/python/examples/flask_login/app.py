"""A Flask login service on the prodready binding: signup, login behind the
login guard, logout and a protected page, users and sessions in PostgreSQL.

    PRD_DB="dbname=app" PYTHONPATH=bindings/python flask --app app run

Passwords are Argon2id (rehashed on login when the policy moved on),
unknown users cost a dummy verification (no timing oracle), sessions are
opaque tokens in PostgreSQL (the cookie is the token, HttpOnly, SameSite),
every request is rate limited per client, and every log line goes through
the redacting logger.
"""
import logging
import os

from flask import Flask, g, jsonify, request

import prodready as prd

SCHEMA = """CREATE TABLE IF NOT EXISTS app_users (
    id bigserial PRIMARY KEY, email text UNIQUE NOT NULL, hash text NOT NULL)"""
COOKIE = "session"


def create_app(conninfo: str = None, *, hasher: prd.PasswordHasher = None) -> Flask:
    app = Flask(__name__)
    pool = prd.Pool(conninfo if conninfo is not None else os.environ.get("PRD_DB", ""), max_size=8)
    pool.migrate_stores()
    pool.execute(SCHEMA)
    hasher = hasher or prd.PasswordHasher()
    sessions = prd.Sessions(prd.TokenStore.postgres(pool), "sess", idle=1800, absolute=8 * 3600)
    guard = prd.LoginGuard(100000)
    limiter = prd.Limiter([prd.Rule("client", 120, window=60)])
    log = logging.getLogger("login-app")
    log.setLevel(logging.INFO)
    log.addHandler(prd.LogHandler(prd.Logger()))
    app.config.update(pool=pool, sessions=sessions)

    def problem(status, title, headers=None):
        resp = jsonify({"title": title, "status": status})
        resp.status_code = status
        resp.mimetype = "application/problem+json"
        for k, v in (headers or {}).items():
            resp.headers[k] = v
        return resp

    @app.before_request
    def per_client_limit():
        d = limiter.check(request.remote_addr or "unknown")
        if not d.allowed:
            return problem(429, "Too Many Requests", d.headers(limiter))
        g.user = None
        token = request.cookies.get(COOKIE)
        if token:
            try:
                g.user = sessions.validate(token)
            except prd.ClientError:
                g.user = None  # expired or unknown: treated as logged out

    def credentials():
        body = request.get_json(silent=True) or {}
        email, password = body.get("email"), body.get("password")
        if not isinstance(email, str) or not isinstance(password, str) or not email or \
                len(password) < 8:
            return None, None
        return email.strip().lower(), password

    @app.post("/signup")
    def signup():
        email, password = credentials()
        if email is None:
            return problem(400, "email and a password of 8 or more characters are required")
        stored = hasher.hash(password)
        try:
            pool.execute("INSERT INTO app_users (email, hash) VALUES ($1, $2)", email, stored)
        except prd.Conflict:
            pass  # the same answer either way: the response never says an account exists
        log.info("signup", extra={"email": email})
        return jsonify({"status": "registered"}), 201

    @app.post("/login")
    def login():
        email, password = credentials()
        if email is None:
            return problem(400, "email and password are required")
        try:
            attempt = guard.attempt(email, request.remote_addr or "unknown")
        except prd.RateLimited as e:
            log.warning("login refused", extra={"email": email})
            return problem(429, "Too Many Requests", e.decision.headers(guard))
        with attempt:
            row = pool.fetch_one("SELECT id, hash FROM app_users WHERE email = $1", email)
            if row is None:
                hasher.verify_dummy(password)
                attempt.failure()
                return problem(401, "wrong email or password")
            try:
                upgraded = hasher.verify_and_upgrade(row["hash"], password)
            except prd.VerifyMismatchError:
                attempt.failure()
                log.info("login failed", extra={"email": email, "password": password})
                return problem(401, "wrong email or password")
            attempt.success()
            if upgraded:
                pool.execute("UPDATE app_users SET hash = $1 WHERE id = $2 AND hash = $3",
                             upgraded, row["id"], row["hash"])
        token = sessions.create(row["id"])
        log.info("login", extra={"user": row["id"]})
        resp = jsonify({"status": "logged in"})
        resp.set_cookie(COOKIE, token, httponly=True, samesite="Strict",
                        secure=request.is_secure, max_age=8 * 3600)
        return resp

    @app.post("/logout")
    def logout():
        token = request.cookies.get(COOKIE)
        if token:
            try:
                sessions.revoke(token)
            except prd.ClientError:
                pass
        resp = jsonify({"status": "logged out"})
        resp.delete_cookie(COOKIE)
        return resp

    @app.get("/me")
    def me():
        if g.user is None:
            return problem(401, "login required")
        row = pool.fetch_one("SELECT email FROM app_users WHERE id = $1", int(g.user))
        return jsonify({"id": int(g.user), "email": row["email"] if row else None})

    return app


if __name__ == "__main__":
    create_app().run()
