"""IMS identities (TS 23.003 §13, TS 23.228 §4.3.3): normalising public and private IDs.

Pure functions shared by the HSS and the CSCFs, so that every NF compares identities the
same way.
"""

from __future__ import annotations


def normalise_impu(uri: str) -> str:
    """A public identity as stored: no display name, brackets, parameters, headers or port.

    ``<sip:1555@dom:5060;user=phone>`` → ``sip:1555@dom``; ``tel:+1555;phone-context=x`` →
    ``tel:+1555``.
    """
    uri = uri.strip()
    if "<" in uri and ">" in uri:
        uri = uri[uri.index("<") + 1 : uri.index(">")]
    if uri.lower().startswith("tel:"):
        return "tel:" + uri[4:].split(";", 1)[0]
    base = uri.split(";", 1)[0].split("?", 1)[0]
    scheme, _, rest = base.partition(":")
    scheme = scheme.lower()
    if "@" in rest:
        user, _, host = rest.rpartition("@")
        return f"{scheme}:{user}@{_strip_port(host).lower()}"
    return f"{scheme}:{_strip_port(rest).lower()}"


def _strip_port(host: str) -> str:
    if host.startswith("["):
        return host[: host.index("]") + 1] if "]" in host else host
    return host.split(":", 1)[0]


def impi_from_impu(impu: str) -> str:
    """The private identity a UE without ISIM derives from its IMPU (TS 24.229 §5.1.1.1A)."""
    aor = normalise_impu(impu)
    return aor.split(":", 1)[1] if aor.startswith(("sip:", "sips:")) else aor


def tel_to_sip(uri: str, domain: str) -> str:
    """``tel:+15550001`` → ``sip:15550001@domain`` (our numbering plan: no ENUM lookup)."""
    aor = normalise_impu(uri)
    if aor.startswith("tel:"):
        return f"sip:{aor[4:].lstrip('+')}@{domain}"
    return aor
