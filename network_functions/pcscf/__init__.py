"""Proxy-CSCF: the UEs' first SIP hop (UDP and TCP), Path and Service-Route handling."""
