"""The AtomVM check agrees with the real VM, call by call.

For every export of the OTP modules people reach for (read off this machine's OTP), one module calls
each with literal remote calls (never run) so `avmd build` passes its verdict, and a probe run on the
real AtomVM (generic_unix) tries each with junk arguments in its own process: `undef` raised for that very
M:F means missing, anything else (a result, badarg, a timeout) means present. The two must agree
on every call. Runs in the atomvm stage of tests/run.sh.
"""

import json
import re
import subprocess
import sys
import pathlib

HERE = pathlib.Path(__file__).resolve()
sys.path.insert(0, str(HERE.parents[1]))
import vm_support  # noqa: E402

MODULES = ["lists", "maps", "binary", "string", "erlang", "proplists", "io", "io_lib", "unicode",
           "timer", "ets", "math", "gen_server", "supervisor", "application", "os", "file", "inet",
           "gen_tcp", "gen_udp", "queue", "sets", "base64", "calendar", "crypto", "zlib", "logger",
           "proc_lib", "code", "filename", "gen_statem", "gen_event", "net", "socket", "uri_string",
           "re", "rand", "dict", "orddict", "persistent_term", "atomics", "counters", "init"]
# Calls a probe must not make even with junk arguments: they stop or wedge the VM itself.
UNSAFE = {("erlang", "halt"), ("init", "stop"), ("init", "reboot"), ("init", "restart"),
          ("erlang", "system_flag"), ("erlang", "exit"), ("erlang", "raise"), ("io", "get_line"),
          ("io", "get_chars"), ("io", "read"), ("io", "fread"), ("erlang", "suspend_process"),
          ("erlang", "processes"), ("erlang", "load_nif"),
          # raises by design (AtomVM's raises undef, which would read as missing)
          ("erlang", "nif_error")}


def otp_exports():
    expr = "io:format(\"~w.~n\", [[{M, F, A} || M <- %s, {F, A} <- M:module_info(exports), F =/= module_info]]), halt()." % (
        "[" + ",".join(MODULES) + "]")
    out = subprocess.run(["erl", "-noshell", "-eval", expr], capture_output=True, text=True, check=True).stdout
    triples = re.findall(r"\{(\w+),('(?:[^'\\]|\\.)*'|\w+),(\d+)\}", out)
    return sorted({(m, f, int(a)) for m, f, a in triples})


def atom(name):
    return name if re.fullmatch(r"[a-z][a-zA-Z0-9_]*", name) and name not in (
        "after", "and", "andalso", "band", "begin", "bnot", "bor", "bsl", "bsr", "bxor", "case", "catch",
        "cond", "div", "end", "fun", "if", "let", "not", "of", "or", "orelse", "receive", "rem", "try",
        "when", "xor", "maybe", "else") else "'" + name.strip("'").replace("'", "\\'") + "'"


def project(tmp, name, body):
    d = tmp / name
    (d / "src").mkdir(parents=True)
    (d / "avmd.toml").write_text(f'name = "{name}"\nstart = "{name}"\nprofile = "generic_unix"\n')
    (d / "src" / f"{name}.erl").write_text(body)
    return d


def test_the_check_and_the_real_vm_agree_on_every_call(tmp_path):
    avmd = vm_support.avmd_binary()
    vm = vm_support.atomvm_dir()
    calls = [(m, f.strip("'"), a) for m, f, a in otp_exports() if (m, f.strip("'")) not in UNSAFE]
    assert len(calls) > 700, len(calls)

    # 1. the check's verdict: literal calls in a function that never runs
    # one exported function per call, arguments the compiler cannot see through: otherwise it folds
    # calls, or drops the code after one it proves must fail (and those never reach the import table)
    funs = [f"c{i}() -> {atom(m)}:{atom(f)}({', '.join(['get(p)'] * a)})." for i, (m, f, a) in enumerate(calls)]
    exports = ", ".join(f"c{i}/0" for i in range(len(calls)))
    checked = project(tmp_path, "checked", f"-module(checked).\n-export([start/0, {exports}]).\n"
                      "start() -> ok.\n" + "\n".join(funs) + "\n")
    out = subprocess.run([str(avmd), "build", "--json", str(checked)], capture_output=True, text=True)
    report = json.loads(out.stdout)
    errors = [d for d in report["diagnostics"] if d["severity"] == "error" and "is not available on AtomVM" not in d["message"]]
    assert not errors, errors[:5]
    flagged = set()
    for d in report["diagnostics"]:
        m = re.match(r"(\S+):(\S+)/(\d+) is not available on AtomVM \(generic_unix\)", d["message"])
        if m:
            flagged.add((m.group(1).strip("'"), m.group(2).strip("'"), int(m.group(3))))

    # 2. the VM's verdict
    terms = ",".join(f"{{{atom(m)},{atom(f)},{a}}}" for m, f, a in calls)
    top = max(a for _, _, a in calls)
    clauses = ";\n".join(
        f"call(M, F, [{', '.join(f'A{i}' for i in range(n))}]) -> M:F({', '.join(f'A{i}' for i in range(n))})"
        for n in range(top + 1)) + "."
    probe = project(tmp_path, "probe", f"""-module(probe).
-export([start/0]).
start() -> lists:foreach(fun try_one/1, [{terms}]).
try_one({{M, F, A}}) ->
    Self = self(),
    {{Pid, Ref}} = spawn_monitor(fun() ->
        Args = lists:duplicate(A, '$probe'),
        R = try if A =< 6 -> apply(M, F, Args); true -> call(M, F, Args) end of _ -> present
            catch error:undef:St -> case St of
                      [{{M, F, _, _}} | _] -> missing;
                      %% AtomVM reports an unknown function at the calling frame: apply/3's or ours
                      [{{erlang, apply, 3, _}} | _] -> missing;
                      [{{probe, call, 3, _}} | _] -> missing;
                      _ -> present end;
                  _:_ -> present end,
        Self ! {{self(), R}} end),
    R = receive {{Pid, V}} -> V; {{'DOWN', Ref, process, Pid, _}} -> present after 300 -> present end,
    exit(Pid, kill),
    receive {{'DOWN', Ref, process, Pid, _}} -> ok after 100 -> ok end,
    io:format("~s ~s ~b ~s~n", [M, F, A, R]).
%% a direct call per arity for more than 6 arguments (AtomVM's apply/3 takes at most 6)
{clauses}
""")
    subprocess.run([str(avmd), "build", str(probe)], check=True, capture_output=True)
    run = subprocess.run([str(vm / "AtomVM"), str(probe / "_build" / "avmd" / "probe.avm"), str(vm / "atomvmlib.avm")],
                         capture_output=True, text=True, timeout=600)
    verdict = {}
    for line in run.stdout.splitlines():
        parts = line.split(" ")
        if len(parts) == 4 and parts[3] in ("present", "missing"):
            verdict[(parts[0], parts[1], int(parts[2]))] = parts[3]
    assert len(verdict) == len(calls), f"{len(verdict)} of {len(calls)} probed:\n{run.stdout[-2000:]}\n{run.stderr[-2000:]}"

    vm_missing = {c for c, v in verdict.items() if v == "missing"}
    false_alarms = sorted(flagged - vm_missing)
    misses = sorted(vm_missing - flagged)
    print(f"{len(calls)} calls: {len(vm_missing)} missing on the VM, {len(flagged)} flagged")
    assert not false_alarms and not misses, f"flagged but present: {false_alarms}\nmissing but not flagged: {misses}"
