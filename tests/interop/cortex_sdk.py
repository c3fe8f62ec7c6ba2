"""Interop check: the official Cortex Python SDK (usecortex-ai 0.5.14) against cortex-emu.

Usage: cortex_sdk.py BASE_URL API_KEY ADMIN_TOKEN. Drives `{BASE_URL}/cortex-api` through the SDK:
tenants, a txt/md/pdf upload with tenant metadata and the processing poll, full, boolean and QnA
recall, fetch and list, memories, raw embeddings, the typed errors and their `detail` bodies,
another organization's key (403), a bad key (401), an injected fault (admin API, stdlib urllib),
deletion and API keys. Tenant ids get a random suffix, so re-runs against one server work. Exits
non-zero on any mismatch, or if the SDK logs anything at WARNING or above.
"""
import base64
import json
import logging
import secrets
import sys
import time
import urllib.error
import urllib.request

from usecortex_ai import (
    BadRequestError,
    CortexAI,
    CustomPropertyDefinition,
    ForbiddenError,
    InternalServerError,
    ListUserMemoriesResponse,
    MemoryItem,
    NotFoundError,
    RawEmbeddingDocument,
    RawEmbeddingVector,
    SourceListResponse,
    UnauthorizedError,
    UnprocessableEntityError,
)
from usecortex_ai.core.api_error import ApiError

DEADLINE_S = 10
NOTES = b"Shipping notes.\nThe emulator's warehouse is in Rotterdam.\nParcels leave on Mondays.\n"
GUIDE = b"# Billing guide\n\nInvoices are paid within 30 days. Late invoices are reminded weekly.\n"


def pdf_bytes(text):
    """A minimal valid one-page PDF whose page shows `text` in Helvetica."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def expect_error(call, expected, code, exact_body=None):
    """Runs `call`, which must raise `expected` (an SDK error class, or a status for a plain
    ApiError) with a `detail` envelope carrying `code`; returns the error."""
    try:
        got = call()
    except ApiError as e:
        err = e
    else:
        raise AssertionError(f"expected {expected} {code}, the call returned {got!r}")
    if isinstance(expected, int):
        assert err.status_code == expected, (err.status_code, type(err).__name__, err.body)
    else:
        assert isinstance(err, expected), (type(err).__name__, err.status_code, err.body)
    detail = err.body.get("detail") if isinstance(err.body, dict) else None
    assert isinstance(detail, dict), err.body
    assert detail.get("success") is False and detail.get("error_code") == code, err.body
    assert isinstance(detail.get("message"), str) and detail["message"], err.body
    if exact_body is not None:
        assert err.body == exact_body, err.body
    return err


def admin_post(base, token, path, body):
    """POST `{base}/_emulator/v1{path}` with the admin token (stdlib only); the JSON answer."""
    req = urllib.request.Request(
        f"{base}/_emulator/v1{path}",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(req, timeout=DEADLINE_S) as r:
            assert r.status == 201, (path, r.status)
            return json.loads(r.read())
    except urllib.error.HTTPError as e:
        raise AssertionError(f"admin POST {path}: {e.code} {e.read()!r}") from None


def chunk_texts(result):
    return [(c.source_id, c.chunk_content) for c in result.chunks or []]


def tenant(client, t):
    made = client.tenant.create(
        tenant_id=t,
        tenant_metadata_schema=[
            CustomPropertyDefinition(name="department", data_type="VARCHAR", max_length=64),
        ],
    )
    assert made.tenant_id == t, made
    err = expect_error(lambda: client.tenant.create(tenant_id=t), 409, "TENANT_ALREADY_EXISTS")
    assert type(err) is ApiError, type(err).__name__
    infra = client.tenant.get_infra_status(tenant_id=t)
    assert infra.infra.scheduler_status is True, infra
    subs = client.tenant.get_sub_tenant_ids(tenant_id=t)
    assert "DEFAULT" in (subs.sub_tenant_ids or []), subs
    print("interop: cortex-api tenant ok")


def upload(client, t):
    up = client.upload.knowledge(
        tenant_id=t,
        files=[
            ("notes.txt", NOTES, "text/plain"),
            ("guide.md", GUIDE, "text/markdown"),
            ("report.pdf", pdf_bytes("Quarterly revenue grew by twelve percent"), "application/pdf"),
        ],
        file_metadata=json.dumps(
            [
                {"metadata": {"department": "ops"}},
                {"metadata": {"department": "finance"}},
                {"metadata": {"department": "finance"}},
            ]
        ),
    )
    results = up.results or []
    assert len(results) == 3 and all(r.source_id for r in results), up
    names = [r.filename for r in results]
    assert names in (["notes.txt", "guide.md", "report.pdf"], [None] * 3), names
    assert [r.status for r in results] == ["queued"] * 3, up
    assert up.success_count == 3, up
    ids = [r.source_id for r in results]
    assert len(set(ids)) == 3, ids
    print("interop: cortex-api upload ok")
    return ids


def wait_processed(client, t, ids):
    deadline = time.monotonic() + DEADLINE_S
    while True:
        st = client.upload.verify_processing(file_ids=ids, tenant_id=t)
        states = {s.file_id: s.indexing_status for s in st.statuses}
        assert set(states) == set(ids), (ids, st)
        assert "errored" not in states.values(), st
        if all(v == "completed" for v in states.values()):
            break
        assert time.monotonic() < deadline, f"not completed after {DEADLINE_S} s: {states}"
        time.sleep(0.2)
    print("interop: cortex-api processing ok")


def recall(client, t, txt_id, pdf_id):
    found = client.recall.full_recall(tenant_id=t, query="where is the warehouse", max_results=3)
    assert found.chunks and "Rotterdam" in found.chunks[0].chunk_content, chunk_texts(found)
    assert found.chunks[0].source_id == txt_id, (txt_id, chunk_texts(found))
    assert found.sources, found
    bm = client.recall.boolean_recall(tenant_id=t, query="invoices paid", operator="and", max_results=5)
    assert bm.chunks and "30 days" in bm.chunks[0].chunk_content, chunk_texts(bm)
    rev = client.recall.boolean_recall(tenant_id=t, query="revenue")
    assert any(s == pdf_id and "twelve percent" in c for s, c in chunk_texts(rev)), (pdf_id, chunk_texts(rev))
    qa = client.recall.qna(tenant_id=t, question="Where is the warehouse?")
    assert "Rotterdam" in qa.answer and qa.chunks, qa
    print("interop: cortex-api recall ok")


def refusals(client, t):
    expect_error(
        lambda: client.upload.knowledge(
            tenant_id=t,
            files=[("extra.txt", b"Colours are nice.", "text/plain")],
            file_metadata=json.dumps([{"metadata": {"colour": "blue"}}]),
        ),
        UnprocessableEntityError,
        "VALIDATION_ERROR",
    )
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\x00"
    expect_error(
        lambda: client.upload.knowledge(tenant_id=t, files=[("image.png", png, "image/png")]),
        BadRequestError,
        "INVALID_FILE_FORMAT",
    )
    for n in (0, 101):
        expect_error(
            lambda: client.recall.full_recall(tenant_id=t, query="warehouse", max_results=n),
            BadRequestError,
            "INVALID_SEARCH_PARAMETERS",
        )
    print("interop: cortex-api refusals ok")


def fetch_and_list(client, t, txt_id, pdf_id):
    txt = client.fetch.content(tenant_id=t, source_id=txt_id, mode="content")
    assert txt.content and "Rotterdam" in txt.content, txt
    pdf = client.fetch.content(tenant_id=t, source_id=pdf_id, mode="content")
    assert pdf.content_base_64, pdf
    assert base64.b64decode(pdf.content_base_64).startswith(b"%PDF"), pdf.content_base_64[:40]
    listed = client.fetch.list_data(tenant_id=t, kind="knowledge")
    assert isinstance(listed, SourceListResponse), (type(listed).__name__, listed)
    assert len(listed.sources or []) == 3, listed
    assert listed.pagination.total == 3, listed.pagination
    print("interop: cortex-api fetch and list ok")


def memories(client, t):
    added = client.upload.add_memory(
        tenant_id=t,
        sub_tenant_id="user_1",
        memories=[MemoryItem(source_id="pref-1", text="The user prefers window seats on flights.")],
    )
    assert added.success_count == 1, added
    prefs = client.recall.recall_preferences(tenant_id=t, sub_tenant_id="user_1", query="seat preference")
    assert any("window seats" in c for _, c in chunk_texts(prefs)), chunk_texts(prefs)
    listed = client.fetch.list_data(tenant_id=t, sub_tenant_id="user_1", kind="memories")
    assert isinstance(listed, ListUserMemoriesResponse), (type(listed).__name__, listed)
    assert "pref-1" in [m.memory_id for m in listed.user_memories or []], listed
    gone = client.upload.delete_memory(tenant_id=t, sub_tenant_id="user_1", memory_id="pref-1")
    assert gone.user_memory_deleted is True, gone
    expect_error(
        lambda: client.upload.delete_memory(tenant_id=t, sub_tenant_id="user_1", memory_id="pref-1"),
        NotFoundError,
        "MEMORY_NOT_FOUND",
    )
    empty = MemoryItem(source_id="empty-1")  # neither text nor user_assistant_pairs
    expect_error(
        lambda: client.upload.add_memory(tenant_id=t, sub_tenant_id="user_1", memories=[empty]),
        UnprocessableEntityError,
        "INVALID_MEMORY_FORMAT",
    )
    print("interop: cortex-api memories ok")


def chunk_ids(hits):
    return [h.embedding.chunk_id if h.embedding else None for h in hits]


def embeddings(client, e):
    made = client.tenant.create(tenant_id=e, is_embeddings_tenant=True, embeddings_dimension=4)
    assert made.tenant_id == e, made
    vec = RawEmbeddingVector
    doc_a = RawEmbeddingDocument(
        source_id="doc-a",
        metadata={"color": "red"},
        embeddings=[vec(chunk_id="a1", embedding=[1, 0, 0, 0]), vec(chunk_id="a2", embedding=[0.9, 0.1, 0, 0])],
    )
    doc_b = RawEmbeddingDocument(
        source_id="doc-b", metadata={"color": "blue"}, embeddings=[vec(chunk_id="b1", embedding=[0, 1, 0, 0])]
    )
    ins = client.embeddings.insert(tenant_id=e, embeddings=[doc_a, doc_b])
    assert ins.insert_count == 3, ins

    def search(**kw):
        return client.embeddings.search(tenant_id=e, sub_tenant_id="DEFAULT", query_embedding=[1, 0, 0, 0], **kw)

    hits = search(limit=2)
    assert chunk_ids(hits) == ["a1", "a2"], hits
    assert hits[0].score is not None and abs(hits[0].score - 1.0) < 1e-6, hits[0]
    blue = search(limit=2, filter_expr='color == "blue"')
    assert chunk_ids(blue) == ["b1"], blue
    of_a = client.embeddings.filter(tenant_id=e, sub_tenant_id="DEFAULT", source_id="doc-a")
    assert len(of_a) == 2, of_a
    three = RawEmbeddingDocument(source_id="doc-c", embeddings=[vec(chunk_id="c1", embedding=[1, 0, 0])])
    expect_error(
        lambda: client.embeddings.insert(tenant_id=e, embeddings=[three]),
        UnprocessableEntityError,
        "INVALID_EMBEDDING_FORMAT",
    )
    expect_error(lambda: search(limit=0), BadRequestError, "INVALID_SEARCH_PARAMETERS")
    deleted = client.embeddings.delete(tenant_id=e, sub_tenant_id="DEFAULT", source_id="doc-a")
    assert deleted.delete_count == 2, deleted
    expect_error(
        lambda: client.embeddings.delete(tenant_id=e, sub_tenant_id="DEFAULT", source_id="doc-a"),
        NotFoundError,
        "EMBEDDINGS_NOT_FOUND",
    )
    print("interop: cortex-api raw embeddings ok")


def other_organization(base, admin_token, t):
    slug = f"globex-{secrets.token_hex(4)}"
    org = admin_post(base, admin_token, "/organizations", {"slug": slug})
    assert org.get("slug") == slug, org
    key = admin_post(base, admin_token, f"/organizations/{slug}/keys", {"name": "sdk"}).get("key")
    assert isinstance(key, str) and key, key
    other = CortexAI(token=key, base_url=f"{base}/cortex-api", timeout=DEADLINE_S)
    forbidden = {"detail": {"success": False, "message": "Access denied", "error_code": "FORBIDDEN"}}
    expect_error(lambda: other.tenant.get_infra_status(tenant_id=t), ForbiddenError, "FORBIDDEN", forbidden)
    stranger = CortexAI(token="not-a-key", base_url=f"{base}/cortex-api", timeout=DEADLINE_S)
    unknown = {"detail": {"success": False, "message": "Authentication required", "error_code": "UNAUTHORIZED"}}
    expect_error(lambda: stranger.tenant.get_infra_status(tenant_id=t), UnauthorizedError, "UNAUTHORIZED", unknown)
    print("interop: cortex-api other organization and bad key ok")


def fault(client, base, admin_token, t):
    spec = {"response": "A-search-timeout", "route": "/cortex-api/recall", "times": 1}
    admin_post(base, admin_token, "/faults", spec)

    def query():
        return client.recall.full_recall(tenant_id=t, query="where is the warehouse", max_results=3)

    expect_error(query, InternalServerError, "SEARCH_TIMEOUT")
    again = query()
    assert again.chunks and "Rotterdam" in again.chunks[0].chunk_content, chunk_texts(again)
    print("interop: cortex-api injected fault ok")


def cleanup(client, base, t, e, txt_id):
    deleted = client.data.delete(tenant_id=t, ids=[txt_id])
    assert deleted.deleted_count == 1, deleted
    expect_error(lambda: client.fetch.content(tenant_id=t, source_id=txt_id), NotFoundError, "FILE_NOT_FOUND")
    made = client.key.create_api_key(owner="sdk-test")
    assert made.full_api_key, made
    same_org = CortexAI(token=made.full_api_key, base_url=f"{base}/cortex-api", timeout=DEADLINE_S)
    infra = same_org.tenant.get_infra_status(tenant_id=t)
    assert infra.infra.scheduler_status is True, infra
    for tid in (t, e):
        gone = client.tenant.delete_tenant(tenant_id=tid)
        assert gone.tenant_id == tid, gone
    expect_error(lambda: client.tenant.monitor(tenant_id=t), NotFoundError, "TENANT_NOT_FOUND")
    print("interop: cortex-api delete and keys ok")


class Warnings(logging.Handler):
    """Collects what the SDK (or httpx, pydantic via `warnings`) logs at WARNING or above."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.seen = []

    def emit(self, record):
        self.seen.append(f"{record.name}: {record.getMessage()}")


def main():
    base, key, admin_token = sys.argv[1].rstrip("/"), sys.argv[2], sys.argv[3]
    warnings = Warnings()
    logging.getLogger().addHandler(warnings)
    logging.captureWarnings(True)
    run = secrets.token_hex(4)
    t, e = f"sdk_docs_{run}", f"sdk_emb_{run}"
    client = CortexAI(token=key, base_url=f"{base}/cortex-api", timeout=DEADLINE_S)
    tenant(client, t)
    txt_id, _md_id, pdf_id = ids = upload(client, t)
    wait_processed(client, t, ids)
    recall(client, t, txt_id, pdf_id)
    refusals(client, t)
    fetch_and_list(client, t, txt_id, pdf_id)
    memories(client, t)
    embeddings(client, e)
    other_organization(base, admin_token, t)
    fault(client, base, admin_token, t)
    cleanup(client, base, t, e, txt_id)
    assert not warnings.seen, f"the SDK logged warnings: {warnings.seen}"
    print("interop: no SDK warnings")


main()
