%% @doc Process-side handler (runs in the connection process): runs a handler module written for
%% atomvm_lib's httpd (`init_handler/2' and `handle_http_req/2') on our connection, parser, limits and
%% reply code. docs/migrating.md has the contract; the pure helpers below (request map, reply forms,
%% headers) are what `httpd_api_handler' and `httpd_ws_handler' share for their atomvm_lib callers.
%%
%% Route: `{<<"/ota/*">>, httpd_legacy, #{handler => Mod, handler_config => Config}}'. Nobody writes
%% that by hand: `httpd:start/1,2' builds it from atomvm_lib's config, and `httpd_server' wraps any route
%% whose module exports `handle_http_req/2' and no `handle/2' the same way.
%%
%% Per request: `Mod:init_handler(PathSuffix, Config)' gives a state; `Mod:handle_http_req(Request,
%% State)' is called once per body piece (`body' holds the piece, at most `piece' bytes, default 4096),
%% answering `{noreply, State}' while more follows; the call with the last piece (or with `<<>>' when
%% the request has no body) answers with one of atomvm_lib's reply forms (`reply/1').
-module(httpd_legacy).
-behaviour(httpd_handler).

-export([handle/2, request/2, reply/1, method/1, headers/1, title_case/1, query_params/1]).

-include("httpd_head.hrl").

-define(PIECE, 4096).
-define(TEXT_PLAIN, [{<<"content-type">>, <<"text/plain">>}]).
-define(OCTETS, [{<<"content-type">>, <<"application/octet-stream">>}]).

%% @doc httpd_handler callback.
-spec handle(map(), map()) -> httpd_handler:result().
handle(Req, Opts = #{handler := Mod}) ->
    Suffix = maps:get(path_info, Req, []),
    Config = maps:get(handler_config, Opts, #{}),
    case Mod:init_handler(Suffix, Config) of
        {ok, State} ->
            Base = (request(Req, Suffix))#{handler => Mod, handler_config => Config},
            body(Req, Base, Mod, State, maps:get(piece, Opts, ?PIECE));
        Other ->
            failed(Mod, init_handler, Other, Req)
    end.

%% The body in pieces, each handed to the module; the last piece's answer is the reply.
body(Req = #{body := none}, Base, Mod, State, _Piece) ->
    last(Mod:handle_http_req(Base#{body => <<>>, handler_state => State}, State), Mod, Req);
body(Req, Base, Mod, State, Piece) ->
    case httpd_handler:read_body(Req, #{length => Piece}) of
        {more, Bin, Req2} ->
            case Mod:handle_http_req(Base#{body => Bin, handler_state => State}, State) of
                {noreply, State2} -> body(Req2, Base, Mod, State2, Piece);
                %% an early answer: httpd_conn drains or closes what the module did not read
                Early -> last(Early, Mod, Req2)
            end;
        {ok, Bin, Req2} ->
            last(Mod:handle_http_req(Base#{body => Bin, handler_state => State}, State), Mod, Req2);
        {error, Reason} ->
            erlang:error({read_body, Reason})
    end.

last({noreply, _}, Mod, Req) ->
    failed(Mod, handle_http_req, <<"noreply after the whole request">>, Req);
last(Result, Mod, Req) ->
    case reply(Result) of
        {ok, Status, Headers, Body} -> {reply, Status, Headers, Body, Req};
        {error, Status, Reason} -> error_reply(Status, Mod, Reason, Req)
    end.

failed(Mod, Fun, What, Req) ->
    error_reply(500, Mod, {Fun, What}, Req).

%% An error answer closes the connection, as atomvm_lib's does; a reason beyond the three named
%% atoms is logged, since the client only sees the status.
error_reply(Status, Mod, Reason, Req) ->
    case Reason of
        Named when Named =:= not_found; Named =:= bad_request; Named =:= internal_server_error -> ok;
        _ -> io:format("httpd: ~p answered ~p~n", [Mod, Reason])
    end,
    Text = httpd_reply:reason_phrase(Status),
    {reply, Status, [{<<"connection">>, <<"close">>} | ?TEXT_PLAIN], <<Text/binary, "\n">>, Req}.

%% @doc Pure. atomvm_lib's reply forms → a status, headers and body, or an error status and reason.
%% `{reply, ...}' keeps the connection; `close' and `{close, ...}' close it after the answer.
-spec reply(term()) -> {ok, 100..999, httpd_handler:headers(), iodata()} | {error, 400 | 404 | 500, term()}.
reply({reply, Body, _State}) -> body(200, ?OCTETS, Body);
reply({reply, Headers, Body, _State}) when is_map(Headers) -> body(200, headers(Headers), Body);
reply(close) -> {ok, 200, [{<<"connection">>, <<"close">>}], <<>>};
reply({close, Body}) -> body(200, [{<<"connection">>, <<"close">>} | ?OCTETS], Body);
reply({close, Headers, Body}) when is_map(Headers) ->
    body(200, [{<<"connection">>, <<"close">>} | headers(Headers)], Body);
reply({error, not_found}) -> {error, 404, not_found};
reply({error, bad_request}) -> {error, 400, bad_request};
reply({error, internal_server_error}) -> {error, 500, internal_server_error};
reply(Other) -> {error, 500, Other}.

%% A body that is not iodata (a tuple, a float) is the module's error, not a crash of the connection.
body(Status, Headers, Body) ->
    try iolist_size(Body) of
        _ -> {ok, Status, Headers, Body}
    catch
        _:_ -> {error, 500, {not_iodata, Body}}
    end.

%% @doc Pure. A reply-headers map (keys and values strings, binaries, atoms or integers) → our header
%% list, names in lowercase. `Content-Length' is dropped: the reply code writes the true one.
-spec headers(map()) -> httpd_handler:headers().
headers(Map) ->
    headers(maps:to_list(Map), []).

headers([{K, V} | Rest], Acc) ->
    Name = httpd_parse:lower(text(K)),
    case Name of
        <<"content-length">> -> headers(Rest, Acc);
        _ -> headers(Rest, [{Name, text(V)} | Acc])
    end;
headers([], Acc) ->
    lists:reverse(Acc).

text(B) when is_binary(B) -> B;
text(A) when is_atom(A) -> atom_to_binary(A, utf8);
text(I) when is_integer(I) -> integer_to_binary(I);
text(L) when is_list(L) -> iolist_to_binary(L).

%% @doc Pure. The request map atomvm_lib's handlers read: `method' (atom), `path' (all segments),
%% `path_suffix' (the segments after the handler's prefix), `uri' (the request target, a string),
%% `query_params', `headers' (`headers/1'), `socket'. `body' is added per piece.
-spec request(map(), [binary()]) -> map().
request(Req = #{method := Method, path := Path, raw_path := Raw, headers := Headers}, Suffix) ->
    %% raw_path is the request target as sent, query included
    Uri = binary_to_list(Raw),
    #{
        method => method(Method),
        path => [S || S <- binary:split(Path, <<"/">>, [global]), S =/= <<>>],
        path_suffix => Suffix,
        uri => Uri,
        query_params => query_params(maps:get(query, Req, [])),
        headers => headers_map(Headers, #{}),
        socket => socket(Req)
    }.

socket(#{'$conn' := #conn{socket = S}}) -> S;
socket(_) -> undefined.

%% @doc Pure. The method as atomvm_lib names it: a lowercase atom for the methods of RFC 9110,
%% `undefined' for any other (no atom is made from what a client sends).
-spec method(binary()) -> atom().
method(<<"GET">>) -> get;
method(<<"POST">>) -> post;
method(<<"PUT">>) -> put;
method(<<"DELETE">>) -> delete;
method(<<"HEAD">>) -> head;
method(<<"OPTIONS">>) -> options;
method(<<"PATCH">>) -> patch;
method(<<"TRACE">>) -> trace;
method(<<"CONNECT">>) -> connect;
method(_) -> undefined.

%% Our header list (lowercase names) → atomvm_lib's map, keyed the way clients write them
%% (`Content-Length'), which is what its handlers look up; repeated fields are joined with ", ".
headers_map([{Name, Value} | Rest], Acc) ->
    Key = title_case(Name),
    case Acc of
        #{Key := Prev} -> headers_map(Rest, Acc#{Key := <<Prev/binary, ", ", Value/binary>>});
        _ -> headers_map(Rest, Acc#{Key => Value})
    end;
headers_map([], Acc) ->
    Acc.

%% @doc Pure. `content-length' → `Content-Length': each dash-separated word capitalised.
-spec title_case(binary()) -> binary().
title_case(Name) ->
    title_case(Name, true, <<>>).

title_case(<<C, Rest/binary>>, true, Acc) when C >= $a, C =< $z ->
    title_case(Rest, false, <<Acc/binary, (C - 32)>>);
title_case(<<$-, Rest/binary>>, _Start, Acc) ->
    title_case(Rest, true, <<Acc/binary, $->>);
title_case(<<C, Rest/binary>>, _Start, Acc) ->
    title_case(Rest, false, <<Acc/binary, C>>);
title_case(<<>>, _Start, Acc) ->
    Acc.

%% @doc Pure. Decoded query pairs → atomvm_lib's `query_params': values as strings; a key is an atom
%% when that atom already exists (every key a module can match on does, since it is in its code), a
%% binary otherwise, so a client cannot fill the atom table. The first of repeated keys wins.
-spec query_params([{binary(), binary()}]) -> #{atom() | binary() => string()}.
query_params(Pairs) ->
    query_params(Pairs, #{}).

query_params([{K, V} | Rest], Acc) ->
    Key = try binary_to_existing_atom(K, utf8) catch error:badarg -> K end,
    case Acc of
        #{Key := _} -> query_params(Rest, Acc);
        _ -> query_params(Rest, Acc#{Key => binary_to_list(V)})
    end;
query_params([], Acc) ->
    Acc.
