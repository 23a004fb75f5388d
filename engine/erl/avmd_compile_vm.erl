%% @doc Process: the resident compile VM. One long-lived `erl -noshell' that the avmd engine drives over
%% stdio. Requests are {packet,4} frames holding tab-separated fields; replies are {packet,4} frames
%% holding `<<JsonLen:32, Json, Beams/binary>>' (the JSON says how many bytes each module's beam takes).
%% stdout carries frames only: every worker's group leader is `standard_error', and the logger's
%% default handler is pointed at stderr by the engine's command line.
%% Host-only: never packed into a bundle.
-module(avmd_compile_vm).
-export([main/0]).

-spec main() -> no_return().
main() ->
    %% The daemon going away must end this VM: a closed pipe shows as an exit from the port.
    process_flag(trap_exit, true),
    Port = open_port({fd, 0, 1}, [{packet, 4}, binary, eof]),
    %% Anything a compiler or parse transform prints must not reach stdout (the frames).
    group_leader(whereis(standard_error), self()),
    _ = logger:remove_handler(default),
    _ = logger:add_handler(default, logger_std_h, #{config => #{type => standard_error}}),
    loop(Port, #{}).

loop(Port, ExFiles) ->
    receive
        {Port, {data, Req}} ->
            {Reply, ExFiles2} = handle(binary:split(Req, <<"\t">>, [global]), ExFiles),
            reply(Port, Reply),
            loop(Port, ExFiles2);
        {Port, eof} ->
            halt(0);
        {'EXIT', Port, _} ->
            halt(0);
        _Other ->
            loop(Port, ExFiles)
    end.

%% A reply to a daemon that is gone (EPIPE) ends the VM instead of leaving it behind.
reply(Port, Frame) ->
    try port_command(Port, Frame)
    catch error:badarg -> halt(0)
    end.

handle([<<"ping">>], S) ->
    {frame(#{ok => true}, []), S};
handle([<<"erl">>, File | Includes], S) ->
    {Map, Bins} = compile_erl(File, Includes),
    {frame(Map, Bins), S};
handle([<<"erls">>, NInc | Rest], S) ->
    %% Many files at once, compiled in parallel (one process per file, a few at a time).
    {Includes, Files} = lists:split(binary_to_integer(NInc), Rest),
    Results = pmap(fun(F) -> compile_erl(F, Includes) end, Files,
                   2 * erlang:system_info(schedulers_online)),
    {frame(#{ok => true, results => [M || {M, _} <- Results]}, [B || {_, Bs} <- Results, B <- Bs]), S};
handle([<<"ex">> | Files], S) ->
    compile_ex(Files, S);
handle([<<"exin">>, Root | Files], S) ->
    %% Compile with paths relative to the project root, so the beams (their Line chunks) do not depend on
    %% where the project sits: the same tree in two directories packs to the same bytes.
    ok = file:set_cwd(Root),
    Prefix = <<Root/binary, "/">>,
    Rel = [case binary:match(F, Prefix) of
               {0, N} -> binary:part(F, N, byte_size(F) - N);
               _ -> F
           end || F <- Files],
    compile_ex(Rel, S);
handle([<<"elixir_paths">> | Dirs], S) ->
    _ = [code:add_pathz(binary_to_list(D)) || D <- Dirs],
    R = application:ensure_all_started(elixir),
    {frame(#{ok => element(1, R) =:= ok}, []), S};
handle(Other, S) ->
    {frame(#{ok => false, error => iolist_to_binary(io_lib:format("bad request ~tp", [Other]))}, []), S}.

%% ---- Erlang ----

compile_erl(File, Includes) ->
    Opts = [binary, return_errors, return_warnings, debug_info, deterministic, {error_location, column}
            | [{i, binary_to_list(I)} || I <- Includes]],
    Res = try compile:file(binary_to_list(File), Opts)
          catch C:R -> {error, [{File, [{none, ?MODULE, {crash, C, R}}]}], []}
          end,
    Src = to_bin(File),
    Dirs = [filename:dirname(Src) | Includes],
    Resolve = fun(F) -> resolve(F, Src, Dirs) end,
    case Res of
        {ok, Mod, Bin, Warnings} ->
            {Calls, Deps} = analyze(Mod, Bin, File, Includes),
            {#{ok => true,
               diagnostics => diags(Warnings, warning, Resolve),
               modules => [#{name => atom_to_binary(Mod), size => byte_size(Bin),
                             file => File, calls => Calls}],
               deps => Deps},
             [Bin]};
        {error, Errors, Warnings} ->
            {#{ok => false,
               diagnostics => diags(Errors, error, Resolve) ++ diags(Warnings, warning, Resolve),
               modules => [], deps => []},
             []}
    end.

%% Results in input order; at most Width workers at a time; a crashed worker is a failed compile.
pmap(Fun, Items, Width) when length(Items) =< Width ->
    Workers = [{spawn_monitor(fun() -> exit({done, Fun(I)}) end), I} || I <- Items],
    [receive {'DOWN', Ref, process, Pid, {done, R}} -> R;
             {'DOWN', Ref, process, Pid, Why} ->
                 {#{ok => false, modules => [], deps => [],
                    diagnostics => [#{file => to_bin(I), line => 0, column => 0, severity => error,
                                      message => to_bin(io_lib:format("compiler crashed: ~tp", [Why]))}]},
                  []}
     end || {{Pid, Ref}, I} <- Workers];
pmap(Fun, Items, Width) ->
    {Now, Later} = lists:split(Width, Items),
    pmap(Fun, Now, Width) ++ pmap(Fun, Later, Width).

diags(List, Severity, Resolve) ->
    [diag(Resolve(F), Loc, Mod, Desc, Severity) || {F, Items} <- List, {Loc, Mod, Desc} <- Items].

diag(F, Loc, Mod, Desc, Severity) ->
    {Line, Col} = case Loc of
                      {L, C} when is_integer(L), is_integer(C) -> {L, C};
                      L when is_integer(L) -> {L, 0};
                      _ -> {0, 0}
                  end,
    Msg = try Mod:format_error(Desc)
          catch _:_ -> io_lib:format("~tp", [Desc])
          end,
    #{file => F, line => Line, column => Col,
      severity => Severity, message => to_bin(Msg)}.

%% Remote calls with their lines (for compat diagnostics) and the files the module included.
%% `deterministic' leaves only base names in `-file' attributes, so they are found again in the
%% source's directory and the include path.
analyze(Mod, Bin, File, Includes) ->
    case forms(Mod, Bin) of
        {ok, Forms} ->
            Src = to_bin(File),
            Dirs = [filename:dirname(Src) | Includes],
            Resolve = fun(F) -> resolve(F, Src, Dirs) end,
            {_, Calls, Deps} = lists:foldl(fun(Form, {Cur, Cs, Ds}) -> form(Form, Cur, Cs, Ds, Resolve) end,
                                           {Src, [], []}, Forms),
            {lists:usort(Calls), lists:usort(Deps) -- [Src]};
        error ->
            {[], []}
    end.

resolve(F, Src, Dirs) ->
    B = to_bin(F),
    case filename:basename(B) =:= filename:basename(Src) andalso filename:pathtype(B) =/= absolute of
        true -> Src;
        false ->
            Candidates = [B || filename:pathtype(B) =:= absolute]
                ++ [filename:join(D, B) || D <- Dirs] ++ [filename:join(D, filename:basename(B)) || D <- Dirs],
            case [C || C <- Candidates, filelib:is_regular(C)] of
                [Found | _] -> Found;
                [] -> B
            end
    end.

forms(Mod, Bin) ->
    try beam_lib:chunks(Bin, [debug_info]) of
        {ok, {_, [{debug_info, {debug_info_v1, Backend, Data}}]}} ->
            case Backend:debug_info(erlang_v1, Mod, Data, []) of
                {ok, Forms} -> {ok, Forms};
                _ -> error
            end;
        _ -> error
    catch _:_ -> error
    end.

form({attribute, _, file, {F, _}}, _Cur, Cs, Ds, Resolve) ->
    B = Resolve(F),
    {B, Cs, [B | Ds]};
form(Form, Cur, Cs, Ds, _Resolve) ->
    {Cur, calls(Form, Cur, Cs), Ds}.

calls({call, Anno, {remote, _, {atom, _, M}, {atom, _, F}}, Args} = _T, Cur, Acc) ->
    calls(Args, Cur, [call(M, F, length(Args), Anno, Cur) | Acc]);
calls({'fun', Anno, {function, {atom, _, M}, {atom, _, F}, {integer, _, A}}}, Cur, Acc) ->
    [call(M, F, A, Anno, Cur) | Acc];
calls(T, Cur, Acc) when is_tuple(T) ->
    calls(tuple_to_list(T), Cur, Acc);
calls([H | T], Cur, Acc) ->
    calls(T, Cur, calls(H, Cur, Acc));
calls(_, _Cur, Acc) ->
    Acc.

call(M, F, A, Anno, Cur) ->
    Line = try erl_anno:line(Anno) catch _:_ -> 0 end,
    Col = try case erl_anno:column(Anno) of undefined -> 0; C -> C end catch _:_ -> 0 end,
    File = Cur,
    _ = Anno,
    #{m => atom_to_binary(M), f => atom_to_binary(F), a => A, line => Line, column => Col, file => File}.

%% ---- Elixir ----

compile_ex(Files, ExFiles) ->
    {ok, Cwd} = file:get_cwd(),
    Abs = fun(F) -> to_bin(filename:absname(to_bin(F), Cwd)) end,
    %% Forget what these files defined last time, so recompiling them does not warn "redefining module".
    _ = [begin code:purge(M), code:delete(M), code:purge(M) end
         || F <- Files, M <- maps:get(Abs(F), ExFiles, [])],
    Self = self(),
    Ref = make_ref(),
    EachModule = fun(File, Mod, Bin) -> Self ! {Ref, module, Abs(File), Mod, Bin} end,
    Res = try 'Elixir.Kernel.ParallelCompiler':compile(Files, [{each_module, EachModule}])
          catch C:R:St -> {error, [{hd(Files), 0, io_lib:format("~tp:~tp ~tp", [C, R, St])}], []}
          end,
    Mods = collect(Ref, []),
    {Ok, Errors, Warnings} = case Res of
                                 {ok, _, W} -> {true, [], W};
                                 {error, E, W} -> {false, E, W}
                             end,
    Diags = [ex_diag(D, error, Abs) || D <- Errors] ++ [ex_diag(D, warning, Abs) || D <- Warnings],
    Entries = [begin {Calls, _} = analyze(M, B, F, []),
                     #{name => atom_to_binary(M), size => byte_size(B), file => F, calls => Calls}
               end || {F, M, B} <- Mods],
    ExFiles2 = lists:foldl(fun({F, M, _}, Acc) -> maps:update_with(F, fun(L) -> [M | L] end, [M], Acc) end,
                           maps:without([Abs(F) || F <- Files], ExFiles), Mods),
    {frame(#{ok => Ok, diagnostics => Diags, modules => Entries, deps => []}, [B || {_, _, B} <- Mods]),
     ExFiles2}.

collect(Ref, Acc) ->
    receive {Ref, module, F, M, B} -> collect(Ref, [{F, M, B} | Acc])
    after 0 -> lists:reverse(Acc)
    end.

ex_diag({File, Pos, Msg}, Severity, Abs) ->
    {Line, Col} = case Pos of
                      {L, C} when is_integer(L), is_integer(C) -> {L, C};
                      L when is_integer(L) -> {L, 0};
                      _ -> {0, 0}
                  end,
    #{file => Abs(File), line => Line, column => Col, severity => Severity,
      message => ex_message(to_bin(Msg), [to_bin(File), Abs(File)])}.

%% Elixir's error text carries the exception name, the position again and the compiler's own stack:
%% keep "Kind: message" only.
ex_message(Msg, Files) ->
    [First | _] = binary:split(Msg, <<"\n    (">>),
    case binary:match(First, [<<F/binary, ":">> || F <- Files]) of
        {Pos, Len} ->
            Kind = string:trim(binary:part(First, 0, Pos)),
            Rest = binary:part(First, Pos + Len, byte_size(First) - Pos - Len),
            %% Rest is "Line:Col: message" or "Line: message".
            Text = case binary:split(Rest, <<": ">>) of
                       [_Where, T] -> T;
                       [T] -> T
                   end,
            case Kind of
                <<"** (", K/binary>> -> <<(binary:part(K, 0, byte_size(K) - 1))/binary, ": ", Text/binary>>;
                _ -> Text
            end;
        nomatch -> string:trim(First)
    end.

%% ---- wire ----

frame(Map, Bins) ->
    Json = iolist_to_binary(avmd_wire:json(Map)),
    [<<(byte_size(Json)):32>>, Json | Bins].

to_bin(B) when is_binary(B) -> B;
to_bin(A) when is_atom(A) -> atom_to_binary(A);
to_bin(L) -> case unicode:characters_to_binary(L) of
                 B when is_binary(B) -> B;
                 _ -> iolist_to_binary(io_lib:format("~tp", [L]))
             end.
