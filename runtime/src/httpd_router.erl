%% @doc Pure. Route table: compiles `[{PathPattern, Handler, Opts}]' once and matches request paths.
%%
%% Patterns are `/'-separated segments: a literal (`items'), a binding (`:id', any one non-empty
%% segment, kept as a binary under `<<"id">>') or, as the last segment only, `*' (the remaining
%% segments, possibly none, returned as PathInfo). Empty segments are ignored on both sides, so
%% `/a//b/' is `/a/b'. The first route whose pattern and method match wins. A route whose Opts map has
%% `methods => [<<"GET">>, ...]' matches only those methods (and HEAD when GET is listed, RFC 9110
%% section 9.3.2); when routes match the path but none the method the answer is `method_not_allowed'
%% with the methods they allow, for the `Allow' field of a 405 (RFC 9110 section 15.5.6).
-module(httpd_router).

-export([compile/1, match/3, allowed/2]).
-export_type([compiled/0, route/0]).

-type route() :: {binary(), module(), term()}.
-type segment() :: binary() | {bind, binary()}.
%% The routes as {Segments, Wildcard, Handler, Opts, Methods}, and the constants match/3 uses: on
%% AtomVM each use of a compound literal (`<<"/">>', `#{}') copies it into a heap fragment, which forces
%% a garbage collection; made once here, they are on the connection's heap with the routes.
-record(rt, {
    routes = [] :: [{[segment()], boolean(), module(), term(), any | [binary()]}],
    slash = <<"/">> :: binary(),
    global = [global] :: [global],
    no_bindings = #{} :: #{}
}).
-opaque compiled() :: #rt{}.

-define(ALL_METHODS, [
    <<"GET">>, <<"HEAD">>, <<"POST">>, <<"PUT">>, <<"DELETE">>, <<"PATCH">>, <<"OPTIONS">>
]).

%% @doc Compiles a route list. A malformed route raises `{bad_route, Route}'.
-spec compile(Routes :: [route()]) -> compiled().
compile(Routes) when is_list(Routes) ->
    #rt{routes = [compile_route(R) || R <- Routes]};
compile(Other) ->
    erlang:error({bad_routes, Other}).

compile_route({<<"/", _/binary>> = Pattern, Handler, Opts} = R) when is_atom(Handler) ->
    {RevFixed, Wild} =
        case lists:reverse(segments(Pattern, #rt{})) of
            [<<"*">> | RevFixed0] -> {RevFixed0, true};
            RevSegs -> {RevSegs, false}
        end,
    {lists:reverse([compile_segment(S, R) || S <- RevFixed]), Wild, Handler, Opts, methods(Opts, R)};
compile_route(R) ->
    erlang:error({bad_route, R}).

%% `*' anywhere but last, and `:' without a name, are malformed.
compile_segment(<<":", Name/binary>>, _R) when Name =/= <<>> -> {bind, Name};
compile_segment(S, R) when S =:= <<"*">>; S =:= <<":">> -> erlang:error({bad_route, R});
compile_segment(Lit, _R) -> Lit.

methods(#{methods := Ms}, R) ->
    binaries(Ms) orelse erlang:error({bad_route, R}),
    case lists:member(<<"GET">>, Ms) andalso not lists:member(<<"HEAD">>, Ms) of
        true -> Ms ++ [<<"HEAD">>];
        false -> Ms
    end;
methods(_Opts, _R) ->
    any.

%% A proper list of binaries (plain recursion: no fun literal in the module).
binaries([B | T]) when is_binary(B) -> binaries(T);
binaries(L) -> L =:= [].

segments(Path, #rt{slash = Slash, global = Global}) ->
    [S || S <- binary:split(Path, Slash, Global), byte_size(S) > 0].

%% @doc Finds the route for a request.
-spec match(Method :: binary(), Path :: binary(), compiled()) ->
    {ok, Handler :: module(), Opts :: term(), Bindings :: #{binary() => binary()}, PathInfo :: [binary()]}
    | {error, not_found}
    | {error, {method_not_allowed, Allow :: [binary()]}}.
match(Method, Path, Rt = #rt{routes = Routes, no_bindings = None}) ->
    match(Method, segments(Path, Rt), Routes, None, []).

%% Allow collects the methods of the routes that match the path but not the method, reversed.
%% A Method that is not a binary matches no route: allowed/2 uses one to collect them all.
match(_Method, _Segs, [], _None, []) ->
    {error, not_found};
match(_Method, _Segs, [], _None, Allow) ->
    %% union in first-seen order, OPTIONS last
    All = lists:append([
        case Ms of
            any -> ?ALL_METHODS;
            _ -> Ms
        end
     || Ms <- lists:reverse(Allow)
    ]),
    {error, {method_not_allowed, dedup(All ++ [<<"OPTIONS">>], [])}};
match(Method, Segs, [{Pattern, Wild, Handler, Opts, Methods} | Rest], None, Allow) ->
    case bind(Pattern, Wild, Segs, None) of
        nomatch ->
            match(Method, Segs, Rest, None, Allow);
        %% (guards, not a boolean `case': on AtomVM a `true' tested against `false' compares the
        %% atoms by name)
        {ok, Bindings, PathInfo} when Methods =:= any, is_binary(Method) ->
            {ok, Handler, Opts, Bindings, PathInfo};
        {ok, Bindings, PathInfo} when is_binary(Method), is_list(Methods) ->
            case lists:member(Method, Methods) of
                true -> {ok, Handler, Opts, Bindings, PathInfo};
                false -> match(Method, Segs, Rest, None, [Methods | Allow])
            end;
        {ok, _, _} ->
            match(Method, Segs, Rest, None, [Methods | Allow])
    end.

bind([], true, Segs, B) ->
    {ok, B, Segs};
bind([], false, [], B) ->
    {ok, B, []};
bind([{bind, Name} | P], Wild, [S | Segs], B) ->
    bind(P, Wild, Segs, B#{Name => S});
bind([Lit | P], Wild, [Lit | Segs], B) ->
    bind(P, Wild, Segs, B);
bind(_Pattern, _Wild, _Segs, _B) ->
    nomatch.

%% @doc The methods the routes matching Path allow (OPTIONS included), for an OPTIONS answer's `Allow';
%% `not_found' when no route matches the path.
-spec allowed(Path :: binary(), compiled()) -> [binary()] | not_found.
allowed(Path, Compiled) ->
    case match(all, Path, Compiled) of
        {error, {method_not_allowed, Allow}} -> Allow;
        _ -> not_found
    end.

dedup([], Acc) ->
    lists:reverse(Acc);
dedup([M | R], Acc) ->
    case lists:member(M, Acc) of
        true -> dedup(R, Acc);
        false -> dedup(R, [M | Acc])
    end.
