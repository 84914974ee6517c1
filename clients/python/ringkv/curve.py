"""CURVE keys for the ringkv Python client (docs/security.md).

A cluster whose agents run with --curve-secret-key answers only CURVE clients whose public key
it authorizes. Such a client needs the cluster's public key (its .pub file) and a key pair of its
own (a .key file from `ringkv keygen`). curve_keys() reads both and returns the keyword arguments
of Client:

    ringkv.Client(endpoints, **ringkv.curve_keys("cluster.pub", "client.key"))

Without arguments it reads the files named by $RINGKV_CURVE_SERVER_KEY and $RINGKV_CURVE_KEY
(the same variables as the `ringkv` CLI), and returns {} when neither is set.
"""

import os
import re

_Z85_KEY = re.compile(r'^[0-9a-zA-Z.\-:+=^!/*?&<>()\[\]{}@%$#]{40}$')


def read_key_file(path, need_secret=False):
    """(public_key, secret_key or None) from a key file, as Z85 str. Raises ValueError."""
    public = secret = None
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if "=" not in line or line.startswith("#"):
                continue
            name, value = (x.strip() for x in line.split("=", 1))
            value = value.strip('"')
            if name not in ("public-key", "secret-key"):
                continue
            if not _Z85_KEY.match(value):
                raise ValueError("%s line %d: %s is not a Z85 key" % (path, n, name))
            if name == "public-key":
                public = value
            else:
                secret = value
    if need_secret:
        if secret is None:
            raise ValueError("%s: no secret-key" % path)
        if os.stat(path).st_mode & 0o077:
            raise ValueError("%s: a secret key file must not be readable by group or others "
                             "(chmod 600 %s)" % (path, path))
    if public is None:
        raise ValueError("%s: no public-key" % path)
    return public, secret


def curve_keys(server_key_file=None, key_file=None):
    """Client keyword arguments for CURVE: {} when no file is named (here or in the env)."""
    server_key_file = server_key_file or os.environ.get("RINGKV_CURVE_SERVER_KEY") or None
    key_file = key_file or os.environ.get("RINGKV_CURVE_KEY") or None
    if server_key_file is None and key_file is None:
        return {}
    if server_key_file is None or key_file is None:
        raise ValueError("CURVE needs both the server's public key file and a key pair file")
    server_public, _ = read_key_file(server_key_file)
    public, secret = read_key_file(key_file, need_secret=True)
    return {"curve_server_key": server_public, "curve_public_key": public,
            "curve_secret_key": secret}
