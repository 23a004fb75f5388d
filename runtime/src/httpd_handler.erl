%% @doc Pure (helpers) and the handler behaviour. A handler's `handle(Req, Opts)' runs in the
%% connection process and returns one of
%%   `{reply, Status, Headers, Body}', `{reply, Status, Headers, Body, Req2}' (after `read_body/2'),
%%   `{done, Req2}' (after `stream_reply/3' and `stream_body/3'),
%%   `{upgrade, websocket, WsModule, WsOpts}'.
%% The body and streaming functions touch the connection's socket: they are thin wrappers over
%% `httpd_conn', the module that owns the connection state under the request's `$conn' key.
-module(httpd_handler).

-export([read_body/2, stream_reply/3, stream_body/3, header/2, header/3, binding/2, query/2, query/3]).

-type req() :: map().
-type headers() :: [{binary(), iodata()}].
-type result() ::
    {reply, 100..999, headers(), iodata()}
    | {reply, 100..999, headers(), iodata(), req()}
    | {done, req()}
    | {upgrade, websocket, module(), term()}.
-export_type([req/0, headers/0, result/0]).

-callback handle(Req :: req(), Opts :: term()) -> result().
%% atomvm_lib's contract (run by httpd_legacy): `init_handler(PathSuffix, Config)', then
%% `handle_http_req(Request, State)' per body piece. A module exports one contract or the other, so all
%% three are optional here; `avmd build' checks each routed module's exports (engine/src/contract.rs).
-callback init_handler(PathSuffix :: [binary()], Config :: term()) -> {ok, State :: term()} | term().
-callback handle_http_req(Request :: map(), State :: term()) -> {noreply, term()} | term().
%% Optional: the route's options as every request sees them, made once when the server starts (fill
%% in defaults here: on AtomVM a default written in `handle/2' is a literal, copied at each use, and
%% `maps:get/3' of a missing key raises and catches an exception).
-callback prepare(Opts :: term()) -> term().
-optional_callbacks([handle/2, init_handler/2, handle_http_req/2, prepare/1]).

%% @doc The request body in pieces of at most `length' bytes (default 16384), never whole in RAM:
%% `{more, Bin, Req2}' while more follows, `{ok, LastBin, Req2}' at the end.
-spec read_body(req(), #{length => pos_integer()}) ->
    {more, binary(), req()} | {ok, binary(), req()} | {error, term()}.
read_body(Req, Opts) ->
    httpd_conn:read_body(Req, Opts).

%% @doc Starts a streamed (chunked) reply; follow with `stream_body/3' and return `{done, Req2}'.
-spec stream_reply(100..999, headers(), req()) -> req().
stream_reply(Status, Headers, Req) ->
    httpd_conn:stream_reply(Status, Headers, Req).

%% @doc Sends a piece of a streamed reply; `fin' sends the last one.
-spec stream_body(iodata(), nofin | fin, req()) -> ok.
stream_body(Data, Fin, Req) ->
    httpd_conn:stream_body(Data, Fin, Req).

%% @doc The first value of a request header (name in lowercase), or `undefined'.
-spec header(binary(), req()) -> binary() | undefined.
header(Name, Req) ->
    header(Name, Req, undefined).

%% @doc The first value of a request header, or `Default'.
-spec header(binary(), req(), Default) -> binary() | Default.
header(Name, #{headers := Headers}, Default) ->
    case lists:keyfind(Name, 1, Headers) of
        {_, Value} -> Value;
        false -> Default
    end.

%% @doc A path binding (`:id' in the route), or `undefined'.
-spec binding(binary(), req()) -> binary() | undefined.
binding(Name, #{bindings := Bindings}) ->
    %% (a map pattern, not maps:get/3: AtomVM's raises and catches an exception for a missing key)
    case Bindings of
        #{Name := Value} -> Value;
        _ -> undefined
    end.

%% @doc The first value of a query-string key, or `undefined'.
-spec query(binary(), req()) -> binary() | undefined.
query(Name, Req) ->
    query(Name, Req, undefined).

%% @doc The first value of a query-string key, or `Default'.
-spec query(binary(), req(), Default) -> binary() | Default.
query(Name, #{query := Query}, Default) ->
    case lists:keyfind(Name, 1, Query) of
        {_, Value} -> Value;
        false -> Default
    end.
