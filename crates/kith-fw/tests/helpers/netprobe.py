#!/usr/bin/env python3
"""Traffic probes for the kith-fw lab tests, run inside lab namespaces.

  netprobe.py tcp-listen PORT          print "listening", then "peer ADDR" per connection
  netprobe.py tcp-connect HOST PORT S  print and exit: connected 0, refused 2, timeout 3
  netprobe.py udp-listen PORT          print "listening", then "from ADDR" per datagram
  netprobe.py udp-send HOST PORT       send one datagram
  netprobe.py raw-listen PROTO         print "listening", then "from ADDR" per IP packet
  netprobe.py raw-send HOST PROTO      send one raw IP packet of protocol PROTO (47: GRE)

Every wait is bounded by the caller (timeouts here, or the lab stopping the process).
"""
import socket
import sys


def out(line):
    print(line, flush=True)


def tcp_listen(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", int(port)))
    s.listen(16)
    out("listening")
    while True:
        conn, peer = s.accept()
        out("peer " + peer[0])
        conn.close()


def tcp_connect(host, port, seconds):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(float(seconds))
    try:
        s.connect((host, int(port)))
    except ConnectionRefusedError:
        out("refused")
        return 2
    except socket.timeout:
        out("timeout")
        return 3
    except OSError as e:
        out("error " + str(e))
        return 4
    out("connected")
    s.close()
    return 0


def udp_listen(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", int(port)))
    out("listening")
    while True:
        _, peer = s.recvfrom(2048)
        out("from " + peer[0])


def udp_send(host, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.sendto(b"kith-fw probe", (host, int(port)))
    return 0


def raw_listen(proto):
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, int(proto))
    out("listening")
    while True:
        data, peer = s.recvfrom(65535)
        out("from " + peer[0])


def raw_send(host, proto):
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, int(proto))
    # For GRE: version 0, no options, protocol type IPv4 (0x0800), then a payload.
    s.sendto(b"\x00\x00\x08\x00" + b"kith-fw probe", (host, 0))
    return 0


def main(argv):
    commands = {
        "tcp-listen": tcp_listen,
        "tcp-connect": tcp_connect,
        "udp-listen": udp_listen,
        "udp-send": udp_send,
        "raw-listen": raw_listen,
        "raw-send": raw_send,
    }
    if len(argv) < 2 or argv[1] not in commands:
        sys.stderr.write(__doc__)
        return 64
    return commands[argv[1]](*argv[2:]) or 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
