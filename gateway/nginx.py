"""The gateway's nginx configuration, rendered from the routing table (`petshore.contract`)
and the gateway's settings: what the ALB's listener rules and CloudFront's behaviours do on
AWS (templates/), nginx does locally.

- `/api/<service>/…` goes to the service's instances in turn (`upstream` blocks the health
  checks rewrite, `gateway.balancer`), bodies streamed both ways, with `X-Forwarded-*` and
  `X-Request-ID` set here: a client cannot choose what the services believe about its address.
- `/models/…` and `/media/…` come from the bucket, path-style, as CloudFront serves them:
  immutable caching, ETag and conditional requests, byte ranges.
- Anything else is the storefront's files, sent as the Brotli or gzip copies the build makes;
  a client-side route (a last segment without a dot) is the page itself.
- Every error nginx makes itself is the API's JSON error (`petshore.errors`), and every
  answer but a published file carries the security headers of CloudFront's response headers
  policies.
- Access lines are the services' JSON lines, with cart and order ids cut short
  (`petshore.logs.redact`)."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from petshore.contract import (
    API_CSP,
    API_PATH_PREFIX,
    FRAME_OPTIONS,
    MODEL_CACHE_CONTROL,
    PUBLISHED_KEY_PREFIXES,
    REFERRER_POLICY,
    SERVICES,
)
from petshore.logs import REDACTED_KEEP, SECRET_PATHS, TYPE_PREFIX
from petshore.web import MAX_BODY_BYTES, REQUEST_ID_HEADER, REQUEST_ID_OK

# Debian's package of ngx_brotli's static half (libnginx-mod-http-brotli-static).
BROTLI_MODULE = Path("/usr/lib/nginx/modules/ngx_http_brotli_static_module.so")
MIME_TYPES = Path("/etc/nginx/mime.types")
IMMUTABLE_DIR = "assets"
ASSET_CACHE_CONTROL = "public, max-age=31536000, immutable"
# A published file's key, as S3 and the catalog name them.
KEY_PATTERN = r"[A-Za-z0-9._/-]{1,500}"
# A `..` segment, as sent or percent-encoded: nginx would resolve it to another path, which
# could then be a page (`/models/../x` is `/x`); no published file or page has one.
DOT_DOT_PATTERN = r"(^|/|%2[fF])(\.|%2[eE]){2}(/|%2[fF]|\?|$)"


ERROR_PATH_PREFIX = "/.petshore-errors/"


@dataclass(frozen=True)
class ErrorPage:
    status: int
    code: str
    # JSON text, or an nginx variable holding it (a map below).
    message: str
    details: str = "{}"
    headers: tuple[tuple[str, str], ...] = ()

    @property
    def location(self) -> str:
        """An internal path rather than a named location: nginx cannot send a request whose
        path it refused (`/../x`, `%00`) to a named location."""
        return f"{ERROR_PATH_PREFIX}{self.status}"

    def body(self) -> str:
        """The JSON, for nginx's single quotes."""
        if "'" in self.message:
            raise ValueError(f"nginx would end the body at the quote in {self.message!r}")
        code = json.dumps(self.code)
        return (
            f'{{"error": {{"code": {code}, "message": {self.message}, "details": {self.details}}}}}'
        )


def _text(message: str) -> str:
    return json.dumps(message)


NOT_FOUND = ErrorPage(404, "not_found", _text("no such path"))
UNAVAILABLE_ERROR = ErrorPage(
    503, "unavailable", _text("the service behind this path did not answer")
)
# nginx refuses a path with a NUL (`%00`) itself, where a service would name the path.
BAD_REQUEST = ErrorPage(400, "invalid_request", "$petshore_bad_message", "$petshore_bad_details")
ERRORS = (
    BAD_REQUEST,
    NOT_FOUND,
    ErrorPage(
        405,
        "method_not_allowed",
        _text("this method is not allowed here"),
        headers=(("Allow", "$petshore_allow"),),
    ),
    ErrorPage(413, "too_large", _text(f"request bodies are limited to {MAX_BODY_BYTES} bytes")),
    ErrorPage(414, "invalid_request", _text("the request path is too long")),
    ErrorPage(416, "range_not_satisfiable", _text("the requested range is outside the file")),
    ErrorPage(501, "invalid_request", _text("that transfer encoding is not supported")),
    UNAVAILABLE_ERROR,
)
# What a 405 names as allowed: the methods the API's routes take (nginx itself refuses
# TRACE before any route is known), or only reading, for the storefront's files.
API_METHODS = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"
# Before nginx's static module sees the request: it would answer a POST 405 as an HTML page.
ONLY_READS = "if ($request_method !~ ^(?:GET|HEAD)$) { return 405; }"
NO_DOT_DOT = "if ($petshore_dot_dot) { return 404; }"
BODY_TIMEOUT_MARGIN = 1.0
SHUTDOWN_SECONDS = 10.0
# A request line whose path (not its query) holds a NUL.
PRINTABLE = r"[\x21-\x7e]"
NOT_PLAIN = r"(%|//|/\.\.?(/|$)|[^\x21-\x7e])"
NUL_IN_PATH = r"^\S+ [^? ]*%00"
NUL_IN_PATH_MESSAGE = "the path holds a character this API does not take"
# nginx's own failures to reach a service, all the same to a client: try again later.
UNAVAILABLE = (500, 502, 503, 504)


@dataclass(frozen=True)
class Site:
    """What the configuration is made from."""

    listen: str
    static_dir: Path
    # The bucket's path-style base URL (`http://emulator:5000/bucket`).
    bucket_url: str
    storefront_csp: str
    upstream_timeout: float
    request_timeout: float
    run_dir: Path
    workers: int
    # service name → the targets to send to (the healthy ones, or all when none is).
    serving: dict[str, list[str]]


def quoted(value: str) -> str:
    """A string nginx reads back as `value`; `$` is avoided, as nginx expands it."""
    if "$" in value:
        raise ValueError(f"nginx would expand the $ in {value!r}")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _header_maps(csp: str) -> list[str]:
    """Per path: the security headers (none on published files, which keep AWS's managed
    policy), the request id, and the path an access line shows."""
    files = "|".join(re.escape(prefix) for prefix in PUBLISHED_KEY_PREFIXES)
    secret = "|".join(re.escape(path) for path in SECRET_PATHS)
    # As nginx may route it: repeated slashes are not always merged in $uri.
    routed = "|".join(re.escape(path).replace("/", "/+") for path in SECRET_PATHS)
    # As petshore.logs.redact: the type prefix and REDACTED_KEEP characters are kept.
    # An id's characters are ASCII: a byte outside them is never kept (nor half a character).
    redacted = f"(?<kept>(?:{TYPE_PREFIX.pattern})?[A-Za-z0-9_-]{{0,{REDACTED_KEEP}}})[^/]*"
    return [
        'map $request_uri $petshore_path { "~^(?<path>[^?]*)" $path; }',
        "map $petshore_path $petshore_csp {",
        f'    "~^/(?:{files})" "";',
        f'    "~^{re.escape(API_PATH_PREFIX)}" {quoted(API_CSP)};',
        f"    default {quoted(csp)};",
        "}",
        'map $petshore_csp $petshore_nosniff { "" ""; default nosniff; }',
        f'map $petshore_csp $petshore_frame_options {{ "" ""; default {FRAME_OPTIONS}; }}',
        f'map $petshore_csp $petshore_referrer_policy {{ "" ""; default {REFERRER_POLICY}; }}',
        "map $http_x_request_id $petshore_request_id {",
        # A caller's id the services would keep is kept; any other is replaced by a new one.
        f'    "~{REQUEST_ID_OK.pattern}" $http_x_request_id;',
        "    default $request_id;",
        "}",
        # A cart's or an order's path as nginx routed it (decoded, dot segments resolved), so
        # that no spelling of it escapes the redaction, and only ASCII of it (a decoded path
        # may hold any byte; a log line must stay UTF-8). Any other path as it was sent, if
        # it is spelt plainly: printable ASCII, no escapes, no dot segments or double slashes.
        "map $petshore_path $petshore_plain_path {",
        f'    "~{NOT_PLAIN}" "(a path spelt with escapes or dot segments)";',
        "    default $petshore_path;",
        "}",
        "map $petshore_plain_path $petshore_error_path {",
        f'    "~^(?<head>{secret}){redacted}(?<tail>/.*)?$" "$head$kept…$tail";',
        "    default $petshore_plain_path;",
        "}",
        "map $uri $petshore_logged_path {",
        f'    "~^(?<head>{routed}){redacted}(?<tail>/{PRINTABLE}*)?$" "$head$kept…$tail";',
        f'    "~^(?<head>{routed}){redacted}" "$head$kept…";',
        "    default $petshore_error_path;",
        "}",
        'map $status $petshore_level { "~^5" error; default info; }',
        # $request: nginx refuses the path before $request_uri is set.
        "map $request $petshore_bad_message {",
        f'    "~{NUL_IN_PATH}" {quoted(_text(NUL_IN_PATH_MESSAGE))};',
        f"    default {quoted(_text('the request could not be read'))};",
        "}",
        "map $request $petshore_bad_details {",
        f'    "~{NUL_IN_PATH}" {quoted(json.dumps({"fields": ["path"]}))};',
        '    default "{}";',
        "}",
        "map $petshore_path $petshore_allow {",
        f'    "~^{re.escape(API_PATH_PREFIX)}" {quoted(API_METHODS)};',
        '    default "GET, HEAD";',
        "}",
        f'map $request_uri $petshore_dot_dot {{ "~{DOT_DOT_PATTERN}" 1; default ""; }}',
        # Only what S3 can read is passed on: any other value matches no ETag and is no
        # range, so the whole file is the answer.
        'map $http_range $petshore_range { "~^[\\x20-\\x7e]*$" $http_range; default ""; }',
        "map $http_if_none_match $petshore_if_none_match {",
        '    "~^[\\x20-\\x7e]*$" $http_if_none_match;',
        '    default "";',
        "}",
    ]


def _access_log(log_path: str) -> list[str]:
    fields = {
        "ts": "$time_iso8601",
        "level": "$petshore_level",
        "service": "gateway",
        "logger": "petshore.access",
        "message": "request",
        "request_id": "$petshore_request_id",
        "method": "$request_method",
        "path": "$petshore_logged_path",
        "client": "$remote_addr",
    }
    line = ", ".join(f'"{name}": "{value}"' for name, value in fields.items())
    line += ', "status": $status, "seconds": $request_time'
    # Written in batches, as petshore.logs writes the services' lines: one write a request
    # cost a busy process a tenth of its CPU.
    return [
        f"log_format petshore escape=json '{{{line}}}';",
        f"access_log {log_path} petshore buffer=32k flush=200ms;",
    ]


Headers = list[tuple[str, str]]
# The security headers of an answer whose kind only its path tells (an error nginx answered
# itself): the maps above, by the path as sent.
BY_PATH: Headers = [
    ("Content-Security-Policy", "$petshore_csp"),
    ("X-Content-Type-Options", "$petshore_nosniff"),
    ("X-Frame-Options", "$petshore_frame_options"),
    ("Referrer-Policy", "$petshore_referrer_policy"),
]


def security(csp: str) -> Headers:
    """The security headers of the answers of one location, whatever path reached it."""
    return [
        ("Content-Security-Policy", quoted(csp)),
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", FRAME_OPTIONS),
        ("Referrer-Policy", REFERRER_POLICY),
    ]


def _add_headers(headers: Headers, *extra: tuple[str, str]) -> list[str]:
    """A location's `add_header`s: nginx forgets the server's once a location has its own."""
    pairs = [*headers, (REQUEST_ID_HEADER, "$petshore_request_id"), *extra]
    return [f"add_header {name} {value} always;" for name, value in pairs]


def _hide_headers(*extra: str) -> list[str]:
    """What the gateway sets replaces what a service or the bucket sent, as the policies'
    `Override` does."""
    names = (
        "Content-Security-Policy",
        "X-Content-Type-Options",
        "X-Frame-Options",
        "Referrer-Policy",
        REQUEST_ID_HEADER,
        *extra,
    )
    return [f"proxy_hide_header {name};" for name in names]


def _upstreams(site: Site) -> list[str]:
    bucket = urlsplit(site.bucket_url)
    port = bucket.port or (443 if bucket.scheme == "https" else 80)
    lines = [
        "upstream petshore_bucket {",
        f"    server {bucket.hostname}:{port};",
        "    keepalive 16;",
        "}",
    ]
    for service in SERVICES:
        lines.append(f"upstream petshore_{service.name} {{")
        for url in site.serving[service.name]:
            lines.append(f"    server {urlsplit(url).netloc};")
        lines += ["    keepalive 64;", "}"]
    return lines


def _service_locations(site: Site) -> list[str]:
    proxy = [
        "proxy_http_version 1.1;",
        'proxy_set_header Connection "";',
        "proxy_set_header X-Forwarded-For $remote_addr;",
        "proxy_set_header X-Forwarded-Proto $scheme;",
        "proxy_set_header X-Forwarded-Host $host;",
        "proxy_set_header X-Forwarded-Port $server_port;",
        f"proxy_set_header {REQUEST_ID_HEADER} $petshore_request_id;",
        # Uploads flow through as they arrive, and a service that stops waiting for a stalled
        # body answers at once.
        "proxy_request_buffering off;",
        *_hide_headers(),
        *_add_headers(security(API_CSP)),
    ]
    lines: list[str] = []
    for service in sorted(SERVICES, key=lambda s: len(s.path_prefix), reverse=True):
        for match in (f"^~ {service.path_prefix}", f"= {service.path_prefix.rstrip('/')}"):
            lines += [
                f"location {match} {{",
                f"    proxy_pass http://petshore_{service.name};",
                *(f"    {line}" for line in proxy),
                "}",
            ]
    lines += [f"location ^~ {API_PATH_PREFIX} {{", "    return 404;", "}"]
    return lines


def _file_locations(site: Site) -> list[str]:
    prefixes = "|".join(re.escape(prefix) for prefix in PUBLISHED_KEY_PREFIXES)
    bucket = urlsplit(site.bucket_url)
    return [
        f'location ~ "^/(?:{prefixes}){KEY_PATTERN}$" {{',
        f"    {ONLY_READS}",
        f"    {NO_DOT_DOT}",
        # An upstream block, not the host itself: a host named with a variable in proxy_pass
        # would need a resolver.
        f"    proxy_pass {bucket.scheme}://petshore_bucket{bucket.path}$uri;",
        *(
            ["    proxy_ssl_server_name on;", f"    proxy_ssl_name {bucket.hostname};"]
            if bucket.scheme == "https"
            else []
        ),
        "    proxy_http_version 1.1;",
        '    proxy_set_header Connection "";',
        f"    proxy_set_header Host {bucket.netloc};",
        "    proxy_set_header Range $petshore_range;",
        "    proxy_set_header If-None-Match $petshore_if_none_match;",
        # Only the file's own headers: neither the caller's cookies nor its credentials.
        "    proxy_set_header Cookie '';",
        "    proxy_set_header Authorization '';",
        "    proxy_intercept_errors on;",
        # The bucket answers a missing file 403 to a reader that may not list it, as nginx
        # answers a folder of the storefront's.
        *(f"    {line}" for line in _error_pages()),
        *(f"    {line}" for line in _hide_headers("Cache-Control", "Accept-Ranges")),
        "    proxy_hide_header x-amz-request-id;",
        "    proxy_hide_header x-amz-id-2;",
        # AWS's managed policy on published files, not the storefront's headers.
        *(
            f"    {line}"
            for line in _add_headers(
                [], ("Cache-Control", quoted(MODEL_CACHE_CONTROL)), ("Accept-Ranges", "bytes")
            )
        ),
        "}",
        f'location ~ "^/(?:{prefixes})" {{',
        "    return 404;",
        "}",
    ]


def _static_locations(site: Site) -> list[str]:
    text = [
        ONLY_READS,
        NO_DOT_DOT,
        f"root {quoted(str(site.static_dir))};",
        "brotli_static on;",
        "gzip_static on;",
    ]
    page = security(site.storefront_csp)
    revalidated = _add_headers(page, ("Cache-Control", "no-cache"), ("Vary", "Accept-Encoding"))
    immutable = _add_headers(
        page, ("Cache-Control", quoted(ASSET_CACHE_CONTROL)), ("Vary", "Accept-Encoding")
    )
    return [
        "location / {",
        *(f"    {line}" for line in [*text, *revalidated]),
        "    try_files $uri @page;",
        "}",
        f"location ^~ /{IMMUTABLE_DIR}/ {{",
        *(f"    {line}" for line in [*text, *immutable]),
        "}",
        # A client-side route (/product/X) is the page; a missing file (a name with a dot)
        # is a 404, not the page.
        "location @page {",
        *(f"    {line}" for line in [*text, *revalidated]),
        '    if ($uri ~ "\\.[^/]*$") { return 404; }',
        "    try_files /index.html =404;",
        "}",
    ]


def _error_pages(not_found: tuple[int, ...] = (403, 404)) -> list[str]:
    """Where each error nginx makes is answered; a location with an `error_page` of its own
    inherits none of the server's."""
    lines = [
        f"error_page {e.status} ={e.status} {e.location};"
        for e in ERRORS
        if e.status not in (400, 404, 503)
    ]
    return [
        *lines,
        # 494: nginx's own code for a request head too large to read.
        f"error_page 400 494 =400 {BAD_REQUEST.location};",
        f"error_page {' '.join(map(str, not_found))} =404 {NOT_FOUND.location};",
        f"error_page {' '.join(map(str, UNAVAILABLE))} =503 {UNAVAILABLE_ERROR.location};",
    ]


def _error_locations() -> list[str]:
    lines = _error_pages()
    for error in ERRORS:
        lines += [
            f"location = {error.location} {{",
            "    internal;",
            # No type from the path's extension (`/index.html` would make the JSON text/html).
            "    types { }",
            "    default_type application/json;",
            *(
                f"    {line}"
                for line in _add_headers(BY_PATH, ("Cache-Control", "no-store"), *error.headers)
            ),
            f"    return {error.status} '{error.body()}';",
            "}",
        ]
    return lines


def _ms(seconds: float) -> str:
    return f"{round(seconds * 1000)}ms"


def render(site: Site) -> str:
    run = site.run_dir
    user = ["user root;"] if os.geteuid() == 0 else []
    http = [
        f"include {MIME_TYPES};",
        "default_type application/octet-stream;",
        *_access_log("/dev/stdout"),
        f"client_body_temp_path {run / 'body'};",
        f"proxy_temp_path {run / 'proxy'};",
        f"fastcgi_temp_path {run / 'fastcgi'};",
        f"uwsgi_temp_path {run / 'uwsgi'};",
        f"scgi_temp_path {run / 'scgi'};",
        "server_tokens off;",
        # A missing file is a 404 for the caller, not an error of the gateway's.
        "log_not_found off;",
        "sendfile on;",
        "tcp_nodelay on;",
        "keepalive_requests 10000;",
        f"client_max_body_size {MAX_BODY_BYTES};",
        # nginx closes a connection that times out without a word, where a service answers
        # the contract's 408: the service behind waits the same time, so a stalled body is
        # its to answer, and nginx only steps in a moment later if it did not.
        f"client_header_timeout {_ms(site.request_timeout)};",
        f"client_body_timeout {_ms(site.request_timeout + BODY_TIMEOUT_MARGIN)};",
        "recursive_error_pages on;",
        "proxy_connect_timeout 3s;",
        f"proxy_read_timeout {_ms(site.upstream_timeout)};",
        f"proxy_send_timeout {_ms(site.upstream_timeout)};",
        "proxy_max_temp_file_size 0;",
        # Another instance is tried only when one could not be reached, as the ALB does: a
        # request that timed out may still be running there.
        "proxy_next_upstream error;",
        # As the ALB with drop_invalid_header_fields: a name outside [-A-Za-z0-9] is dropped.
        "ignore_invalid_headers on;",
        "underscores_in_headers off;",
        *_header_maps(site.storefront_csp),
        *_upstreams(site),
        "server {",
        *(
            f"    {line}"
            for line in [
                f"listen {site.listen};",
                *_add_headers(BY_PATH),
                *_error_locations(),
                *_service_locations(site),
                *_file_locations(site),
                *_static_locations(site),
            ]
        ),
        "}",
    ]
    return "\n".join(
        [
            f"load_module {BROTLI_MODULE};",
            *user,
            "daemon off;",
            f"worker_processes {site.workers};",
            # Old workers left by a reload or a graceful stop finish their requests within this.
            f"worker_shutdown_timeout {_ms(SHUTDOWN_SECONDS)};",
            f"pid {run / 'nginx.pid'};",
            "error_log stderr warn;",
            "events { worker_connections 4096; }",
            "http {",
            *(f"    {line}" for line in http),
            "}",
            "",
        ]
    )
