"""Micro-benchmark of the SIP codec: parse + serialise a typical IMS REGISTER.

Run from the repository root: ``python benchmarks/sip_codec.py [iterations]``. Prints the mean
time per message (parse_message + to_bytes) and the derived messages per second, plus the
cost of the lazily parsed values a registrar reads (Via, From, To, CSeq, Contact).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from network_functions.protocols.sip import NameAddr, parse_message

REGISTER = (
    b"REGISTER sip:ims.mnc001.mcc001.3gppnetwork.org SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 10.45.0.2:5060;branch=z9hG4bK-524287-1---e3b0c44298fc1c14;rport\r\n"
    b"Max-Forwards: 70\r\n"
    b"Contact: <sip:001010000000001@10.45.0.2:5060>;expires=600000;"
    b'+sip.instance="<urn:gsma:imei:35614309-000001-0>";+g.3gpp.icsi-ref='
    b'"urn%3Aurn-7%3A3gpp-service.ims.icsi.mmtel";+g.3gpp.smsip\r\n'
    b"To: <sip:001010000000001@ims.mnc001.mcc001.3gppnetwork.org>\r\n"
    b"From: <sip:001010000000001@ims.mnc001.mcc001.3gppnetwork.org>;tag=2d7a9b3c\r\n"
    b"Call-ID: 6c6f6e67-2d63-616c-6c2d-6964@10.45.0.2\r\n"
    b"CSeq: 1 REGISTER\r\n"
    b"Expires: 600000\r\n"
    b"Allow: INVITE, ACK, OPTIONS, CANCEL, BYE, UPDATE, INFO, REFER, NOTIFY, MESSAGE, PRACK\r\n"
    b'Authorization: Digest username="001010000000001@ims.mnc001.mcc001.3gppnetwork.org",'
    b'realm="ims.mnc001.mcc001.3gppnetwork.org",nonce="",'
    b'uri="sip:ims.mnc001.mcc001.3gppnetwork.org",response=""\r\n'
    b"Supported: path, gruu, sec-agree\r\n"
    b"Require: sec-agree\r\n"
    b"Proxy-Require: sec-agree\r\n"
    b"Security-Client: ipsec-3gpp;alg=hmac-sha-1-96;spi-c=3929102;spi-s=3929103;"
    b"port-c=5100;port-s=5101\r\n"
    b"User-Agent: nfv-bench/1.0\r\n"
    b"Content-Length: 0\r\n"
    b"\r\n"
)


def main() -> None:
    iterations = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    for _ in range(1000):  # warm-up
        parse_message(REGISTER).to_bytes()
    start = time.perf_counter()
    for _ in range(iterations):
        parse_message(REGISTER).to_bytes()
    elapsed = time.perf_counter() - start
    per_msg = elapsed / iterations * 1e6
    print(
        f"parse+serialise REGISTER ({len(REGISTER)} bytes): {per_msg:.1f} us/message, "
        f"{iterations / elapsed:,.0f} messages/s ({iterations} iterations)"
    )

    msg = parse_message(REGISTER)
    start = time.perf_counter()
    for _ in range(iterations):
        _ = (msg.top_via.branch, msg.from_.tag, msg.to.uri.aor, msg.cseq)
        _ = [NameAddr.parse(c) for c in msg.headers.get_all("Contact")]
    elapsed = time.perf_counter() - start
    print(f"lazy values (top Via, From, To, CSeq, Contact): {elapsed / iterations * 1e6:.1f} us")


if __name__ == "__main__":
    main()
