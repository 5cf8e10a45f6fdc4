#!/usr/bin/env python3
"""Set the access, change and creation times of every in-use inode of an
ext4 image to one time:  fix-ext4-times.py IMAGE EPOCH

mkfs.ext4 -d copies each file's atime and ctime from the source tree, and a
tree just unpacked has ctimes of the build's wall clock, which no user-space
tool may set.  debugfs sets them in the image instead.  The in-use inodes
come from dumpe2fs's free-inode ranges of each group."""
import os
import re
import subprocess
import sys
import tempfile


def used_inodes(img):
    out = subprocess.run(["dumpe2fs", img], capture_output=True, text=True,
                         check=True).stdout
    per_group = int(re.search(r"^Inodes per group:\s+(\d+)", out, re.M)[1])
    used = []
    for m in re.finditer(r"^Group (\d+):.*?^\s+Free inodes: ?([^\n]*)$", out,
                         re.M | re.S):
        g = int(m[1])
        lo, hi = g * per_group + 1, (g + 1) * per_group
        free = set()
        for part in filter(None, (p.strip() for p in m[2].split(","))):
            a, _, b = part.partition("-")
            free.update(range(int(a), int(b or a) + 1))
        used.extend(i for i in range(lo, hi + 1) if i not in free)
    return used


def main():
    img, epoch = sys.argv[1], int(sys.argv[2])
    with tempfile.NamedTemporaryFile("w", suffix=".debugfs") as f:
        for ino in used_inodes(img):
            for field in ("atime", "ctime", "crtime"):
                f.write("sif <%d> %s @%d\n" % (ino, field, epoch))
        f.flush()
        env = dict(os.environ, E2FSPROGS_FAKE_TIME=str(epoch))
        subprocess.run(["debugfs", "-w", "-f", f.name, img], check=True, env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


main()
