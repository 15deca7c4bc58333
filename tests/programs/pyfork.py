# A forked child allocates at a known line and lives past the promotion age:
# its own trace must carry its Python frames (the code objects sent again
# into the child's trace). usage: pyfork.py
import os
import time


def child_work():
    keep = bytearray(333331)
    time.sleep(0.2)
    return keep


pid = os.fork()
if pid == 0:
    child_work()
    os._exit(0)
os.waitpid(pid, 0)
