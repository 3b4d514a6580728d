# Known Python calls, for examples/python-calls.bt: tt_branch 3 times, each calling tt_leaf 4 times
# (12 calls), from the module's code. Prints "pycalls 30".
def tt_leaf(x):
    return x + 1


def tt_branch(n):
    total = 0
    for i in range(n):
        total += tt_leaf(i)
    return total


print("pycalls", sum(tt_branch(4) for _ in range(3)))
