%% @doc Process: the WebSocket handler and servers the pytest conformance suite (tests/ws) talks to.
%% `start/0' starts three servers on 127.0.0.1 with port 0, prints "PORTS Main Idle Cap" and waits
%% (the test kills the VM; the same code runs on host OTP and the real AtomVM):
%% Main has a 1 MiB message limit; Idle pings after 300 ms of silence; Cap allows 2 WebSockets.
%% Routes (the same on each): /echo echoes, /proto picks a subprotocol, /push answers "burst N" with N
%% messages sent from another process through ws_info, /close answers "close CODE" with that close code.
-module(ws_fixture).
-behaviour(httpd_ws_handler).

-export([start/0, ws_init/2, ws_handle/2, ws_info/2]).

-spec start() -> no_return().
start() ->
    Base = #{port => 0, address => {127, 0, 0, 1}, profile => host, routes => routes(), middleware => []},
    {ok, Main} = httpd_server:start(Base#{max_ws_message => 1048576}),
    {ok, Idle} = httpd_server:start(Base#{ws_idle_timeout => 300}),
    {ok, Cap} = httpd_server:start(Base#{max_ws_connections => 2}),
    io:format("PORTS ~p ~p ~p~n", [httpd_server:port(Main), httpd_server:port(Idle), httpd_server:port(Cap)]),
    receive stop -> ok end.

routes() ->
    [{<<"/echo">>, httpd_ws_handler, #{handler => ?MODULE}},
     {<<"/proto">>, httpd_ws_handler, #{handler => ?MODULE, mode => proto}},
     {<<"/push">>, httpd_ws_handler, #{handler => ?MODULE, mode => push}},
     {<<"/close">>, httpd_ws_handler, #{handler => ?MODULE, mode => close}}].

-spec ws_init(map(), map()) -> {ok, atom()} | {ok, atom(), map()}.
ws_init(Req, #{mode := proto}) ->
    case [P || P <- httpd_ws_handler:protocols(Req), lists:member(P, [<<"chat">>, <<"superchat">>])] of
        [P | _] -> {ok, proto, #{protocol => P}};
        [] -> {ok, proto}
    end;
ws_init(_Req, Opts) ->
    {ok, maps:get(mode, Opts, echo)}.

-spec ws_handle({text | binary, binary()}, atom()) -> {ok, atom()} | {reply, term(), atom()}.
ws_handle({text, <<"burst ", N/binary>>}, push) ->
    Self = self(),
    Count = binary_to_integer(N),
    spawn(fun() -> [Self ! {push, I} || I <- lists:seq(1, Count)] end),
    {ok, push};
ws_handle({text, <<"close ", Code/binary>>}, close) ->
    {reply, {close, binary_to_integer(Code), <<"bye">>}, close};
ws_handle(Msg, Mode) ->
    {reply, Msg, Mode}.

-spec ws_info(term(), atom()) -> {ok, atom()} | {reply, term(), atom()}.
ws_info({push, I}, Mode) ->
    {reply, {text, integer_to_binary(I)}, Mode};
ws_info(_, Mode) ->
    {ok, Mode}.
