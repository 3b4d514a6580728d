# Calls tt_pyfunc seven times with a trace function set. CPython 3.11 reaches its
# python:function__entry probe (guarded by its semaphore) only when a frame starts while tracing is
# on, or through generator.throw(): plain Python-to-Python calls are inlined in the eval loop and
# skip it. The trace function itself is a lambda, entered the same way for each call, so it is
# named differently.
import sys


def tt_pyfunc(i):
    return i * 2


total = 0
sys.settrace(lambda *args: None)
for i in range(7):
    total += tt_pyfunc(i)
sys.settrace(None)
print("py", total)
