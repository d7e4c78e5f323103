#!/usr/bin/env python3
"""Writes one container image as a docker-archive tar (the `docker save` format that `ctr images import` and
`docker load` read), from local directories only: no registry, no daemon.

  mkimage.py --ref REF --out FILE --layer DIR [--layer DIR ...]
             [--entrypoint JSON] [--cmd JSON] [--env K=V ...] [--user U] [--workdir W] [--label K=V ...]

Each --layer DIR becomes one layer (in order: base first). Reproducible: entries sorted by name, every mtime set to
SOURCE_DATE_EPOCH (default 946684800, 2000-01-01), owner names dropped (numeric ids kept), JSON with sorted keys,
no compression; so the same inputs give the same bytes and the same image ID. The archive holds exactly REF
(manifest.json RepoTags and `repositories`), which `airgap-k8s bundle verify` checks against the file name.
"""
import argparse
import hashlib
import io
import json
import os
import sys
import tarfile

EPOCH = int(os.environ.get("SOURCE_DATE_EPOCH", "946684800"))


# Linux capability numbers for --file-cap (include/uapi/linux/capability.h)
CAPS = {"chown": 0, "dac_override": 1, "net_bind_service": 10, "net_admin": 12, "net_raw": 13, "sys_admin": 21}


def file_cap_xattr(names):
    """security.capability (vfs_cap_data revision 2, effective bit set) granting NAMES as permitted+effective."""
    bits = 0
    for n in names.split(","):
        if n not in CAPS:
            sys.exit("mkimage: unknown capability %s" % n)
        bits |= 1 << CAPS[n]
    import struct
    raw = struct.pack("<IIIII", 0x02000001, bits & 0xFFFFFFFF, 0, bits >> 32, 0)
    return raw.decode("latin-1")


def layer_tar(directory, file_caps=None):
    """An uncompressed, reproducible tar of DIR's contents (paths relative to DIR, no leading ./)."""
    file_caps = file_caps or {}
    if not os.path.isdir(directory):
        sys.exit("mkimage: layer %s is not a directory" % directory)
    buf = io.BytesIO()

    def norm(ti):
        ti.mtime = EPOCH
        ti.uname = ""
        ti.gname = ""
        if ti.name in file_caps:
            ti.pax_headers = {"SCHILY.xattr.security.capability": file_cap_xattr(file_caps[ti.name])}
        return ti

    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name in sorted(os.listdir(directory)):
            t.add(os.path.join(directory, name), arcname=name, recursive=True, filter=norm)
    return buf.getvalue()


def canon(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def split_ref(ref):
    """repository and tag of a reference (no digests: images we build have tags)."""
    if "@" in ref:
        sys.exit("mkimage: --ref must be a tagged reference, not a digest: %s" % ref)
    slash = ref.rfind("/")
    colon = ref.rfind(":")
    if colon <= slash:
        sys.exit("mkimage: --ref needs a tag: %s" % ref)
    return ref[:colon], ref[colon + 1:]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ref", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--layer", action="append", required=True)
    p.add_argument("--entrypoint")
    p.add_argument("--cmd")
    p.add_argument("--env", action="append", default=[])
    p.add_argument("--user", default="")
    p.add_argument("--workdir", default="")
    p.add_argument("--label", action="append", default=[])
    p.add_argument("--stop-signal", default="")
    p.add_argument("--file-cap", action="append", default=[],
                   help="PATH=cap1,cap2: a file capability (security.capability xattr) on PATH of the LAST layer")
    a = p.parse_args()

    repo, tag = split_ref(a.ref)
    caps = dict(fc.split("=", 1) for fc in a.file_cap)
    layers = [layer_tar(d, caps if i == len(a.layer) - 1 else None) for i, d in enumerate(a.layer)]
    diff_ids = ["sha256:" + hashlib.sha256(b).hexdigest() for b in layers]
    cfg = {}
    if a.entrypoint:
        cfg["Entrypoint"] = json.loads(a.entrypoint)
    if a.cmd:
        cfg["Cmd"] = json.loads(a.cmd)
    env = list(a.env)
    if not any(e.startswith("PATH=") for e in env):
        env.insert(0, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
    cfg["Env"] = env
    if a.user:
        cfg["User"] = a.user
    if a.workdir:
        cfg["WorkingDir"] = a.workdir
    if a.label:
        cfg["Labels"] = dict(kv.split("=", 1) for kv in a.label)
    if a.stop_signal:
        cfg["StopSignal"] = a.stop_signal
    created = "%sZ" % __import__("datetime").datetime.utcfromtimestamp(EPOCH).isoformat()
    config = {
        "architecture": "amd64",
        "os": "linux",
        "created": created,
        "config": cfg,
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created": created, "created_by": "airgap-k8s scripts/supply/mkimage.py layer %d" % i}
                    for i in range(len(layers))],
    }
    config_bytes = canon(config)
    config_name = hashlib.sha256(config_bytes).hexdigest() + ".json"
    members = [(config_name, config_bytes)]
    layer_paths = []
    for d, b in zip(diff_ids, layers):
        path = d.split(":", 1)[1] + "/layer.tar"
        layer_paths.append(path)
        members.append((path, b))
    members.append(("manifest.json", canon([{"Config": config_name, "RepoTags": [a.ref], "Layers": layer_paths}])))
    members.append(("repositories", canon({repo: {tag: diff_ids[-1].split(":", 1)[1]}})))

    tmp = a.out + ".tmp"
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    with open(tmp, "wb") as f, tarfile.open(fileobj=f, mode="w", format=tarfile.PAX_FORMAT) as t:
        dirs = set()
        for name, data in members:
            top = name.split("/")[0]
            if "/" in name and top not in dirs:
                dirs.add(top)
                ti = tarfile.TarInfo(top)
                ti.type = tarfile.DIRTYPE
                ti.mode = 0o755
                ti.mtime = EPOCH
                t.addfile(ti)
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            ti.mode = 0o644
            ti.mtime = EPOCH
            t.addfile(ti, io.BytesIO(data))
    os.replace(tmp, a.out)
    print("%s %s (%d layer(s), image id sha256:%s)" % (a.out, a.ref, len(layers), config_name[:-5]))


if __name__ == "__main__":
    main()
