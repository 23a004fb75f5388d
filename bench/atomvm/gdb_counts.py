"""gdb script for bench/atomvm/count.sh: what AtomVM's interpreter does per request, by source line.

Set $mode before sourcing: 1 literal loads (module_load_literal), 2 collections with the live words
each copies (memory_gc), 3 atoms compared by name (atom_table_cmp_using_atom_index). `countdump FILE'
writes the counts since the last dump ("warm" in FILE: just reset), resolved to module:line."""
import collections
import os

import gdb

counts = collections.Counter()
live = collections.defaultdict(list)
MODE = int(gdb.parse_and_eval("$mode"))


def erlang_location(frame):
    """(Module *, GlobalContext *, byte offset) of the interpreter frame running the caller, or None."""
    for _ in range(8):
        if frame is None:
            return None
        if frame.name() == "scheduler_entry_point":
            mod = frame.read_var("mod")
            ctx = frame.read_var("ctx")
            return (int(mod), int(ctx["global"]), int(frame.read_var("pc")) - int(mod["code"]))
        frame = frame.older()
    return None


class Literal(gdb.Breakpoint):
    def stop(self):
        f = gdb.selected_frame()
        counts[(erlang_location(f.older()), "literal %d" % int(f.read_var("index")))] += 1
        return False


class AfterGC(gdb.FinishBreakpoint):
    def __init__(self, frame, ctx, key):
        super().__init__(frame, internal=True)
        self.ctx, self.key = ctx, key

    def stop(self):
        heap = self.ctx["heap"]
        live[self.key].append((int(heap["heap_ptr"]) - int(heap["heap_start"])) // 8)
        return False

    def out_of_scope(self):
        pass


class GC(gdb.Breakpoint):
    def stop(self):
        f = gdb.selected_frame()
        key = (erlang_location(f.older()), "gc")
        counts[key] += 1
        AfterGC(f, f.read_var("ctx"), key)
        return False


class AtomCompare(gdb.Breakpoint):
    def stop(self):
        f = gdb.selected_frame()
        pair = (int(f.read_var("t_atom_index")), int(f.read_var("other_atom_index")))
        counts[(erlang_location(f.older()), pair)] += 1
        return False


{1: lambda: Literal("module_load_literal"), 2: lambda: GC("memory_gc"),
 3: lambda: AtomCompare("atom_table_cmp_using_atom_index")}[MODE]()


def scratch():
    return int(gdb.parse_and_eval("(char *) malloc(32)"))


def atom_name(glb, index):
    buf = scratch()
    s = gdb.parse_and_eval("(char *) atom_table_get_atom_string(((GlobalContext *)%d)->atom_table, %d, (size_t *)%d)"
                           % (glb, index, buf))
    n = int(gdb.parse_and_eval("*(size_t *)%d" % buf))
    return gdb.selected_inferior().read_memory(int(s), n).tobytes().decode()


def where(loc):
    if loc is None:
        return "(no Erlang frame)"
    mod, glb, off = loc
    name = atom_name(glb, int(gdb.parse_and_eval("((Module *)%d)->local_atoms_to_global_table[1]" % mod)))
    buf = scratch()
    found = int(gdb.parse_and_eval("(int) module_find_line((Module *)%d, %d, (uint32_t *)%d, (size_t *)%d, (const uint8_t **)%d)"
                                   % (mod, off, buf, buf + 8, buf + 16)))
    line = int(gdb.parse_and_eval("*(uint32_t *)%d" % buf)) if found else None
    return "%s:%s" % (name, line if line is not None else "+%d" % off)


class Dump(gdb.Command):
    def __init__(self):
        super().__init__("countdump", gdb.COMMAND_USER)

    def invoke(self, arg, from_tty):
        # (resolving names calls into the VM, so only here, with the VM stopped)
        if "warm" not in arg:
            with open(arg + ".tmp", "w") as out:
                for (loc, what), n in counts.most_common():
                    if isinstance(what, tuple):
                        what = "%s/%s" % (atom_name(loc[1], what[0]), atom_name(loc[1], what[1])) if loc else "?"
                    elif what == "gc":
                        what = "gc live words %s" % sorted(set(live[(loc, what)]))[:4]
                    out.write("%d\t%s\t%s\n" % (n, where(loc), what))
            os.rename(arg + ".tmp", arg)
        else:
            open(arg, "w").close()
        counts.clear()
        live.clear()


Dump()
