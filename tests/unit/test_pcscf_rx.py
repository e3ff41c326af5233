"""The P-CSCF's SDP → Rx mapping (TS 29.213 §6.2): media components and flows from the UE's and
the remote party's SDP."""

from __future__ import annotations

import pytest

from network_functions.pcscf.rx import media_components
from network_functions.protocols.diameter import rx

pytestmark = pytest.mark.unit

UE = (
    b"v=0\r\no=- 1 1 IN IP4 10.46.0.2\r\ns=-\r\nc=IN IP4 10.46.0.2\r\nt=0 0\r\n"
    b"m=audio 49152 RTP/AVP 97\r\nb=AS:41\r\na=rtpmap:97 AMR-WB/16000\r\n"
    b"m=video 49154 RTP/AVP 98\r\n"
)
REMOTE = (
    b"v=0\r\no=- 2 2 IN IP4 10.46.0.9\r\ns=-\r\nc=IN IP4 10.46.0.9\r\nt=0 0\r\n"
    b"m=audio 50000 RTP/AVP 97\r\nc=IN IP4 10.46.0.10\r\n"
    b"m=video 0 RTP/AVP 98\r\n"
)


def test_audio_component_with_rtp_and_rtcp_flows() -> None:
    ue_ip, media = media_components(UE, REMOTE)
    assert ue_ip == "10.46.0.2"
    (audio,) = media  # the video line is rejected by the remote side (port 0)
    assert (audio.number, audio.media_type) == (1, rx.MediaType.AUDIO)
    assert audio.max_ul == audio.max_dl == 41_000
    rtp, rtcp = audio.flows
    # The media-level c= of the remote's audio line wins over its session-level one.
    assert rtp.descriptions == (
        "permit out 17 from 10.46.0.10 50000 to 10.46.0.2 49152",
        "permit in 17 from 10.46.0.2 49152 to 10.46.0.10 50000",
    )
    assert rtcp.usage == rx.FlowUsage.RTCP
    assert rtcp.descriptions[0] == "permit out 17 from 10.46.0.10 50001 to 10.46.0.2 49153"


def test_unusable_sdp_is_refused_with_a_reason() -> None:
    with pytest.raises(ValueError, match="no SDP media"):
        media_components(b"", REMOTE)
    with pytest.raises(ValueError, match="no SDP media"):
        media_components(UE, b"\xff\xfe")
    v6 = UE.replace(b"c=IN IP4 10.46.0.2", b"c=IN IP6 2001:db8::2")
    with pytest.raises(ValueError, match="not IPv4"):
        media_components(v6, REMOTE)
    rejected = REMOTE.replace(b"m=audio 50000", b"m=audio 0")
    with pytest.raises(ValueError, match="rejected"):
        media_components(UE, rejected)
