"""The parser's verdict on small ipsec.conf files against the real addconn, when it is installed.

For each snippet, addconn decides whether it rejects the whole file (non-zero exit of
--checkconfig) and which conns it refuses to load ("did not load properly"); the parser must
agree through Config.fatal_errors and Conn.errors. Libreswan 4.x is taken from the host
(/usr/libexec/ipsec), 5.2 from .build/libreswan-5.2 (scripts/fetch-libreswan-5.2.sh); each
release is skipped when its programs are missing. addconn only reads the files here: the
control socket it is given does not exist, so it never reaches a pluto.

The snippets avoid values that Libreswan rejects by meaning (such as "authby=secret" followed
by a carriage return): addconn refuses such a conn, but the parser does not check values
that far.
"""

import os
import re
import subprocess

import pytest

from ansible_collections.ipsec.libreswan.plugins.module_utils._conf import parse_config

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
HOST_ROOT = "/"
BUILD_ROOT = os.path.join(TOP, ".build", "libreswan-5.2", "root")


def host_release():
    ipsec = "/usr/sbin/ipsec"
    if not os.path.exists(ipsec):
        return None
    try:
        output = subprocess.run([ipsec, "--version"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                universal_newlines=True, timeout=20, env={"LC_ALL": "C", "PATH": "/usr/bin:/bin"},
                                check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"Libreswan (?:U)?(\d+\.\d+)", output)
    return match.group(1) if match else None


def programs():
    found = []
    release = host_release()
    if release and os.path.exists("/usr/libexec/ipsec/addconn"):
        found.append((release, "/usr/libexec/ipsec/addconn"))
    build = os.path.join(BUILD_ROOT, "usr", "libexec", "ipsec", "addconn")
    if os.path.exists(build):
        found.append(("5.2", build))
    return found


PROGRAMS = programs()


def run(argv, cwd):
    result = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=cwd, timeout=30,
                            env={"LC_ALL": "C", "PATH": "/usr/bin:/bin"}, check=False)
    # Decoded by hand: a carriage return in a conn name must survive.
    return result.returncode, result.stdout.decode("utf-8", "replace")


def libreswan_verdict(addconn, path, directory):
    """Return (file rejected, set of conns that do not load) as addconn reports them."""
    rc, _output = run([addconn, "--config", path, "--checkconfig"], directory)
    if rc != 0:
        return True, set()
    _rc, output = run([addconn, "--config", path, "--listall"], directory)
    names = [name for name in output.split("\n")[-2].split(" ") if name] if output.strip() else []
    failed = set()
    socket = os.path.join(directory, "no-pluto.ctl")
    for name in set(names):
        _rc, output = run([addconn, "--ctlsocket", socket, "--config", path, name], directory)
        if "did not load properly" in output or ("while loading '%s'" % name) in output:
            failed.add(name)
    return False, failed


def parser_verdict(path, release, directory):
    config = parse_config(path, version=release, cwd=directory)
    if config.fatal_errors:
        return True, set(), config
    return False, set(name for name, conn in config.conns.items() if conn.errors), config


SNIPPETS = [
    ('left=192.0.2.1 #comment', 'conn a\n\tleft=192.0.2.1 #comment\n\tright=192.0.2.2\n'),
    ('left=192.0.2.1 # comment', 'conn a\n\tleft=192.0.2.1 # comment\n\tright=192.0.2.2\n'),
    ('#foo', 'conn a\n\tleft=192.0.2.1\n\tright=192.0.2.2\n#foo'),
    ('# foo', 'conn a\n\tleft=192.0.2.1\n\tright=192.0.2.2\n  # foo'),
    ('#foo #2', 'conn a\n\tleft=192.0.2.1\n\tright=192.0.2.2\n  #foo'),
    ('pfs=Yes', 'conn a\n\tleft=192.0.2.1\n\tpfs=Yes\n'),
    ('pfs="yes"', 'conn a\n\tleft=192.0.2.1\n\tpfs="yes"\n'),
    ('pfs=maybe', 'conn a\n\tleft=192.0.2.1\n\tpfs=maybe\n'),
    ('pfs=', 'conn a\n\tleft=192.0.2.1\n\tpfs=\n'),
    ('ikelifetime=', 'conn a\n\tleft=192.0.2.1\n\tikelifetime=\n'),
    ('keyingtries=', 'conn a\n\tleft=192.0.2.1\n\tkeyingtries=\n'),
    ('rekeyfuzz=50', 'conn a\n\tleft=192.0.2.1\n\trekeyfuzz=50\n'),
    ('rekeyfuzz=50%', 'conn a\n\tleft=192.0.2.1\n\trekeyfuzz=50%\n'),
    ('mark=5', 'conn a\n\tleft=192.0.2.1\n\tmark=5\n'),
    ('mark="5"', 'conn a\n\tleft=192.0.2.1\n\tmark="5"\n'),
    ('leftid foo=bar', 'conn a\n\tleft=192.0.2.1\n\tleftid foo=bar\n'),
    ('x-foo', 'conn a\n\tleft=192.0.2.1\n\tx-foo\n'),
    ('x-foo=', 'conn a\n\tleft=192.0.2.1\n\tx-foo=\n\tright=192.0.2.2\n'),
    ('leftid="a b"c', 'conn a\n\tleft=192.0.2.1\n\tleftid="a b"c\n'),
    ('leftid=a"{b', 'conn a\n\tleft=192.0.2.1\n\tleftid=a"{b\n'),
    ('modecfgdns={a} # c}', 'conn a\n\tleft=192.0.2.1\n\tmodecfgdns={a} # c}\n'),
    ('leftid=@a / leftid=@a', 'conn a\n\tleft=192.0.2.1\n\tleftid=@a\n\tleftid=@a\n'),
    ('ikelifetime=1h / ikelifetime=3600', 'conn a\n\tleft=192.0.2.1\n\tikelifetime=1h\n\tikelifetime=3600\n'),
    ('ikelifetime=1h / ikelifetime=2h', 'conn a\n\tleft=192.0.2.1\n\tikelifetime=1h\n\tikelifetime=2h\n'),
    ('keylife=1h / salifetime=2h', 'conn a\n\tleft=192.0.2.1\n\tkeylife=1h\n\tsalifetime=2h\n'),
    ('keylife=1h / salifetime=1h', 'conn a\n\tleft=192.0.2.1\n\tkeylife=1h\n\tsalifetime=1h\n'),
    ('leftsubnets=10.0.0.0/24 / leftsubnets=10.0.1.0/2', 'conn a\n\tleft=192.0.2.1\n\tleftsubnets=10.0.0.0/24\n\tleftsubnets=10.0.1.0/24\n'),
    ('conn base / also=base', 'conn base\n\tleft=192.0.2.1\nconn a\n\tleft=192.0.2.1\n\talso=base\n'),
    ('left=%defaultroute / also=base', 'conn base\n\tleft=%defaultroute\nconn a\n\tleft=%defaultroute\n\talso=base\n'),
    ('pfs=y / also=base', 'conn base\n\tpfs=yes\nconn a\n\tpfs=y\n\talso=base\n'),
    ('auto=start / also=base', 'conn base\n\tauto=add\nconn a\n\tauto=start\n\talso=base\n'),
    ('also=nothere', 'conn a\n\tleft=192.0.2.1\n\talso=nothere\n'),
    ('rightid=@b2 / also="b1 b2"', 'conn b1\n\tleftid=@b1\nconn b2\n\trightid=@b2\nconn a\n\tleft=192.0.2.1\n\talso="b1 b2"\n'),
    ('config setup', 'config setup\n\tauthby=secret\n'),
    ('logfile=/var/log/x.log', 'conn a\n\tleft=192.0.2.1\n\tlogfile=/var/log/x.log\n'),
    ('config setup / uniqueids=no', 'config setup\n\tlogfile=/var/log/one.log\nconn a\n\tleft=192.0.2.1\nconfig setup\n\tuniqueids=no\n'),
    ('version 2', 'conn a\n\tleft=192.0.2.1\nversion 2\n'),
    ('version 2 #2', 'version 2\nconn a\n\tleft=192.0.2.1\n'),
    ('conn 123', 'conn 123\n\tleft=192.0.2.1\n'),
    ('conn "a b"', 'conn "a b"\n\tleft=192.0.2.1\n'),
    ('subnet=10.0.0.0/24', 'conn a\n\tsubnet=10.0.0.0/24\n\tleft=192.0.2.1\n'),
    ('left-subnet=10.0.0.0/24', 'conn a\n\tleft-subnet=10.0.0.0/24\n\tleft=192.0.2.1\n'),
    ('include /nonexistent/x.conf', 'conn a\n\tleft=192.0.2.1\n include /nonexistent/x.conf\n'),
    ('"leftid"=x', 'conn a\n\tleft=192.0.2.1\n\t"leftid"=x\n'),
    ('dns-match-id=yes', 'conn a\n\tleft=192.0.2.1\n\tdns-match-id=yes\n'),
    ('dns-match-id,=yes', 'conn a\n\tleft=192.0.2.1\n\tdns-match-id,=yes\n'),
    ('leftid=@a / rightid=@b # c', 'conn a\n\tleft=192.0.2.1\n\tleftid=@a\n\trightid=@b # c\n'),
    ('ikelifetime=1h / ikelifetime=2h #2', 'conn %default\n\tikelifetime=1h\n\tikelifetime=2h\nconn a\n\tleft=192.0.2.1\n'),
    ('ikelifetime=1x', 'conn a\n\tleft=192.0.2.1\n\tikelifetime=1x\n'),
    ('retransmit-interval=500', 'conn a\n\tleft=192.0.2.1\n\tretransmit-interval=500\n'),
    ('connalias=x / connalias=y', 'conn a\n\tleft=192.0.2.1\n\tconnalias=x\n\tconnalias=y\n'),
    ('LEFT=192.0.2.1 / Auto=add', 'conn a\n\tLEFT=192.0.2.1\n\tAuto=add\n'),
    ('auto=add auto=start', 'conn a\n\tleft=192.0.2.1\n\tauto=add auto=start\n'),
    ('=x', 'conn a\n\tleft=192.0.2.1\n\t=x\n'),
    ('right==x', 'conn a\n\tleft=192.0.2.1\n\tright==x\n'),
    ('left', 'conn a\n\tleft\n\tright=192.0.2.2\n'),
    ('conn a\tleft=192.0.2.1', 'conn a\tleft=192.0.2.1\n'),
    ('config  setup / logfile=/var/log/x.log', 'config  setup\n\tlogfile=/var/log/x.log\n'),
    ('config setup x', 'config setup x\n'),
    ('Conn a', 'Conn a\n\tleft=192.0.2.1\n'),
    ('left=192.0.2.2', 'conn a\n\tleft=192.0.2.1\nconn a\n\tleft=192.0.2.2\n'),
    ('pfs=xyes', 'conn a\n\tleft=192.0.2.1\n\tright=192.0.2.2\n\tpfs=xyes\n'),
    ('pfs= yes', 'conn a\n\tleft=192.0.2.1\n\tright=192.0.2.2\n\tpfs= yes\n'),
    ('leftid=@a "', 'conn a\n\tleft=192.0.2.1\n\tright=192.0.2.2\n\tleftid=@a "\n'),
    ('leftid=', 'conn a\n\tleft=192.0.2.1\n\tright=192.0.2.2\n\tleftid=\n'),
    ('leftid=""', 'conn a\n\tleft=192.0.2.1\n\tright=192.0.2.2\n\tleftid=""\n'),
    ('modecfgdns={"}', 'conn a\n\tleft=192.0.2.1\n\tright=192.0.2.2\n\tmodecfgdns={"}\n'),
    ('modecfgdns={ }', 'conn a\n\tleft=192.0.2.1\n\tright=192.0.2.2\n\tmodecfgdns={ }\n'),
    ('leftid="abc', 'conn a\n\tleft=192.0.2.1\n\tright=192.0.2.2\n\tleftid="abc\n'),
    ('left=192.0.2.1 / right=192.0.2.2', 'conn a\r\n\tleft=192.0.2.1\r\n\tright=192.0.2.2\r\n'),
    ('config setup / logfile=/var/log/x.log', 'config setup\r\n\tlogfile=/var/log/x.log\r\n'),
    ('plain', 'conn a\n\tleft=192.0.2.1\n\r\n\tright=192.0.2.2\n'),
    ('left = 192.0.2.1 / right\t=\t192.0.2.2', 'conn a\n \t left = 192.0.2.1\n\t right\t=\t192.0.2.2\n'),
    ('leftsubnet=10.0.0.0/24 / leftsubnets=10.0.1.0/24',
     'conn a\n\tleft=192.0.2.1\n\tright=192.0.2.2\n\tauthby=secret\n'
     '\tleftsubnet=10.0.0.0/24\n\tleftsubnets=10.0.1.0/24\n'),
    ('conn base / leftid=@b',
     'conn %default\n\talso=base\nconn %default\n\tikelifetime=1h\nconn base\n'
     '\tleftid=@b\nconn a\n\tleft=192.0.2.1\n\tright=192.0.2.2\n'),
    ('also=b / also=c', 'conn c\n\tleftid=@c\nconn b\n\tleftid=@b\nconn a\n\tleft=192.0.2.1\n\tright=192.0.2.2\n\talso=b\n\talso=c\n'),
    ('leftid=@b / also=b', 'conn c\n\trightid=@c\nconn b\n\talso=c\n\tleftid=@b\nconn a\n\tleft=192.0.2.1\n\tright=192.0.2.2\n\talso=b\n'),
    ('leftid=@b / also=b #2', 'conn b\n\talso=a\n\tleftid=@b\nconn a\n\tleft=192.0.2.1\n\tright=192.0.2.2\n\talso=b\n'),
    ('leftid=@a / x_note=  spaced # hash', 'conn a\n\tleft=192.0.2.1\n\tright=192.0.2.2\n\tleftid=@a\n\tx_note=  spaced # hash\n'),
    ('X-Note=ok', 'conn a\n\tleft=192.0.2.1\n\tright=192.0.2.2\n\tX-Note=ok\n'),
    ('x-=ok', 'conn a\n\tleft=192.0.2.1\n\tright=192.0.2.2\n\tx-=ok\n'),
    ('virtual-private=%v4:10.0.0.0/8 / virtual_private', 'config setup\n\tvirtual-private=%v4:10.0.0.0/8\n\tvirtual_private=%v4:10.0.0.0/8\n'),
    ('logfile=/var/log/a.log / plutostderrlog=/var/log/b.log', 'config setup\n\tlogfile=/var/log/a.log\n\tplutostderrlog=/var/log/b.log\n'),
    ('x-foo=bar / protostack=netkey', 'config setup\n\tx-foo=bar\n\tprotostack=netkey\n'),
    ('dpddelay=30 / dpdtimeout=120s', 'conn a\n\tleft=192.0.2.1\n\tright=192.0.2.2\n\tikev2=insist\n\tdpdaction=restart\n\tdpddelay=30\n\tdpdtimeout=120s\n'),
    ('keyingtries=%forever / ikelifetime=%forever', 'conn a\n\tleft=192.0.2.1\n\tright=192.0.2.2\n\tkeyingtries=%forever\n\tikelifetime=%forever\n'),
    ('phase2alg=aes-sha2 / esp=aes-sha1', 'conn a\n\tleft=192.0.2.1\n\tright=192.0.2.2\n\tphase2alg=aes-sha2\n\tesp=aes-sha1\n'),
    ('ike=aes256-sha2;dh19', 'conn a\n\tleft=192.0.2.1\n\tright=192.0.2.2\n\tike=aes256-sha2;dh19\n'),
    ('leftprotoport=17/1701 / rightprotoport=17/%any',
     'conn a\n\tleft=192.0.2.1\n\tright=192.0.2.2\n\tleftsubnet=0.0.0.0/0\n'
     '\tleftprotoport=17/1701\n\trightprotoport=17/%any\n'),
    ('plain #2', 'conn a\n\tleft=192.0.2.1\n\tright=192.0.2.2\n\tleft=192.0.2.1\n'),
    ('auto=add / auto=add', 'conn a\n\tleft=192.0.2.1\n\tright=192.0.2.2\n\tauto=add\n\tauto=add\n'),
    ('auto=add / auto=start', 'conn a\n\tleft=192.0.2.1\n\tright=192.0.2.2\n\tauto=add\n\tauto=start\n'),
    ('include', 'include\n'),
    ('include /nonexistent/ipsec.d/site.conf extra', 'include /nonexistent/ipsec.d/site.conf extra\n'),
    ('conn a', ' conn a\n\tleft=192.0.2.1\n'),
    ('nhelpers=2', 'conn a\n\tleft=192.0.2.1\n\tright=192.0.2.2\n\tnhelpers=2\n'),
    ('config setup / nhelpers=two', 'config setup\n\tnhelpers=two\n'),
    ('uniqueids=yes / plutodebug=all', 'config setup\n\tkeep-alive=20\n\tuniqueids=yes\n\tplutodebug=all\n'),
    ('config setup / myvendorid=1234', 'config setup\n\tmyvendorid=1234\n'),
    ('salifetime=8h / lifetime=8h', 'conn a\n\tleft=192.0.2.1\n\tright=192.0.2.2\n\tsalifetime=8h\n\tlifetime=8h\n'),
    ('leftrsasigkey=%cert / leftrsasigkey=%cert', 'conn a\n\tleft=192.0.2.1\n\tright=192.0.2.2\n\tleftrsasigkey=%cert\n\tleftrsasigkey=%cert\n'),
    ('type=tunnel / type=transport', 'conn a\n\tleft=192.0.2.1\n\tright=192.0.2.2\n\ttype=tunnel\n\ttype=transport\n'),
    ('default then conn override', 'conn %default\n\tauto=add\nconn a\n\tleft=192.0.2.1\n\tright=192.0.2.2\n\tauto=start\n'),
    ('default with digits-only string', 'conn %default\n\tmark=5\nconn a\n\tleft=192.0.2.1\n\tright=192.0.2.2\n'),
    ('also conflict two levels down', 'conn c\n\tikelifetime=1h\nconn b\n\talso=c\nconn a\n\tleft=192.0.2.1\n\tright=192.0.2.2\n\tikelifetime=2h\n\talso=b\n'),
    ('two also targets disagree', 'conn b\n\tleftid=@b\nconn c\n\tleftid=@c\nconn a\n\tleft=192.0.2.1\n\tright=192.0.2.2\n\talso=b\n\talso=c\n'),
    ('blank line with carriage return', 'conn a\n\tleft=192.0.2.1\n\r\n\tright=192.0.2.2\n'),
    ('conn keyword typo', 'conn a\n\tleft=192.0.2.1\n\tright=192.0.2.2\n\trightsubnett=10.0.0.0/8\n'),
    ('setup keyword typo', 'config setup\n\tlogfil=/var/log/pluto.log\n'),
    ('removed keyword', 'conn a\n\tleft=192.0.2.1\n\tright=192.0.2.2\n\tike_frag=yes\n'),
    ('bool keyword via also', 'conn b\n\tpfs=no\nconn a\n\tleft=192.0.2.1\n\tright=192.0.2.2\n\tpfs=yes\n\talso=b\n'),
    ('auto=begin', 'conn a\n\tleft=192.0.2.1\n\tright=192.0.2.2\n\tauto=begin\n'),
    ('auto=ADD', 'conn a\n\tleft=192.0.2.1\n\tright=192.0.2.2\n\tauto=ADD\n'),
    ('type=tunnel,transport', 'conn a\n\tleft=192.0.2.1\n\tright=192.0.2.2\n\ttype=tunnel,transport\n'),
    ('auto=add,bogus', 'conn a\n\tleft=192.0.2.1\n\tright=192.0.2.2\n\tauto=add,bogus\n'),
    ('auto=bogus,add', 'conn a\n\tleft=192.0.2.1\n\tright=192.0.2.2\n\tauto=bogus,add\n'),
    ('common word values', 'conn a\n\tleft=192.0.2.1\n\tright=192.0.2.2\n\tikev2=insist\n\tfragmentation=yes\n'
     '\tencapsulation=auto\n\tesn=either\n\tsendcert=always\n\tphase2=esp\n\tkeyexchange=ike\n'),
    ('keyexchange=ikev2', 'conn a\n\tleft=192.0.2.1\n\tright=192.0.2.2\n\tkeyexchange=ikev2\n'),
    ('nic-offload=crypto', 'conn a\n\tleft=192.0.2.1\n\tright=192.0.2.2\n\tnic-offload=crypto\n'),
    ('dpdaction=restart', 'conn a\n\tleft=192.0.2.1\n\tright=192.0.2.2\n\tdpdaction=restart\n'),
    ('setup word values', 'config setup\n\tikev1-policy=drop\n\tddos-mode=busy\n\tocsp-method=post\n'),
    ('auto=1', 'conn a\n\tleft=192.0.2.1\n\tright=192.0.2.2\n\tauto=1\n'),
    ('auto quoted', 'conn a\n\tleft=192.0.2.1\n\tright=192.0.2.2\n\tauto="add"\n'),
    ('shunts and family', 'conn a\n\tleft=192.0.2.1\n\tright=192.0.2.2\n\tfailureshunt=drop\n'
     '\tnegotiationshunt=hold\n\thostaddrfamily=ipv6\n'),
]


@pytest.mark.parametrize("release, addconn", PROGRAMS or [("none", None)], ids=[p[0] for p in PROGRAMS] or ["none"])
@pytest.mark.parametrize("text", [text for _label, text in SNIPPETS], ids=[label for label, _text in SNIPPETS])
def test_verdict_matches_addconn(tmp_path, release, addconn, text):
    if addconn is None:
        pytest.skip("no Libreswan addconn found on the host or in .build/libreswan-5.2")
    path = tmp_path / "ipsec.conf"
    with open(str(path), "w", newline="") as handle:
        handle.write(text)
    expected = libreswan_verdict(addconn, str(path), str(tmp_path))
    rejected, failed, config = parser_verdict(str(path), release, str(tmp_path))
    assert (rejected, failed) == expected, [str(problem) for problem in config.problems]
