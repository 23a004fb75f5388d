%% @doc Pure dispatch: the few TCP calls the server makes, on `gen_tcp' or on the `socket' module.
%%
%% On AtomVM the server uses `socket' directly. AtomVM's gen_tcp either resets every close (the inet
%% backend's driver sets SO_LINGER {on, 0}, which can destroy the last reply) or, with the socket
%% backend, runs each recv through a gen_server call plus two timer processes and a `timer_manager'
%% call that under load times out and never delivers the recv's timeout. The `socket' module's recv
%% waits in a plain `receive ... after', and any process may recv or send on a socket.
%% On OTP the server uses gen_tcp (the fast path there); `transport => socket' picks `socket' on OTP
%% too, which is how the host tests run the device's code path.
%%
%% A socket is a port (gen_tcp on OTP) or a `socket' term; every call dispatches on that, so the
%% connection code never asks which VM it is on.
-module(tcp_transport).

-export([listen/2, accept/1, recv/3, send/2, close/1, peername/1, port/1, controlling_process/2, default/0]).

-type transport() :: gen_tcp | socket.
-type sock() :: port() | term().
-export_type([transport/0, sock/0]).

%% A partial send on AtomVM returns the rest; retry it with a growing pause, and give up when
%% nothing moved for this long (the peer stopped reading).
-define(SEND_STALL_MS, 10000).
-define(SEND_PAUSE_MAX_MS, 64).
%% The most one recv returns. AtomVM's socket default is 512 bytes, which makes a 1 MiB WebSocket
%% message 2048 recvs; the buffer is sized to what has arrived, so a larger cap costs nothing idle.
-define(RECV_BUFFER, 16384).

%% @doc The transport for this VM: `socket' on AtomVM, `gen_tcp' on OTP.
-spec default() -> transport().
default() ->
    case catch erlang:system_info(machine) of
        "BEAM" -> gen_tcp;
        _ -> socket
    end.

%% @doc Opens a listening socket on `Port' (0 picks one). Opts: address (any or an IPv4 tuple),
%% backlog, transport.
-spec listen(0..65535, map()) -> {ok, sock()} | {error, term()}.
listen(Port, Opts) ->
    Addr = maps:get(address, Opts, any),
    Backlog = maps:get(backlog, Opts, 16),
    case maps:get(transport, Opts, default()) of
        gen_tcp ->
            Ip = case Addr of any -> []; _ -> [{ip, Addr}] end,
            %% nodelay: a reply is one send, so Nagle can only delay it.
            gen_tcp:listen(Port, Ip ++ [binary, {active, false}, {reuseaddr, true}, {nodelay, true}, {backlog, Backlog}]);
        socket ->
            socket_listen(Port, Addr, Backlog)
    end.

socket_listen(Port, Addr, Backlog) ->
    case socket:open(inet, stream, tcp) of
        {ok, S} ->
            Steps = [
                fun() -> socket:setopt(S, {socket, reuseaddr}, true) end,
                fun() -> socket:bind(S, #{family => inet, addr => Addr, port => Port}) end,
                fun() -> socket:listen(S, Backlog) end
            ],
            case run_steps(Steps) of
                ok -> {ok, S};
                Error -> _ = socket:close(S), Error
            end;
        Error ->
            Error
    end.

run_steps([Step | Rest]) ->
    case Step() of
        ok -> run_steps(Rest);
        {ok, _} -> run_steps(Rest);
        Error -> Error
    end;
run_steps([]) ->
    ok.

-spec accept(sock()) -> {ok, sock()} | {error, term()}.
accept(L) when is_port(L) -> gen_tcp:accept(L);
accept(L) ->
    case socket:accept(L, infinity) of
        {ok, S} ->
            _ = socket:setopt(S, {otp, rcvbuf}, ?RECV_BUFFER),
            {ok, S};
        Error ->
            Error
    end.

%% @doc Whatever has arrived (at least one byte), waiting at most `Timeout' ms (or infinity).
-spec recv(sock(), 0, timeout()) -> {ok, binary()} | {error, term()}.
recv(S, Len, Timeout) when is_port(S) -> gen_tcp:recv(S, Len, Timeout);
recv(S, Len, Timeout) -> socket:recv(S, Len, Timeout).

-spec send(sock(), iodata()) -> ok | {error, term()}.
send(S, Data) when is_port(S) ->
    gen_tcp:send(S, Data);
send(S, Data) when is_binary(Data) ->
    socket_send(S, Data, 1, erlang:monotonic_time(millisecond) + ?SEND_STALL_MS);
send(S, Data) ->
    send(S, iolist_to_binary(Data)).

socket_send(S, Data, Pause, Deadline) ->
    case socket:send(S, Data) of
        ok ->
            ok;
        {ok, Rest} when byte_size(Rest) < byte_size(Data) ->
            %% progress: a fresh stall deadline
            socket_send(S, Rest, 1, erlang:monotonic_time(millisecond) + ?SEND_STALL_MS);
        {ok, Rest} ->
            case erlang:monotonic_time(millisecond) < Deadline of
                true ->
                    receive after Pause -> ok end,
                    socket_send(S, Rest, min(Pause * 2, ?SEND_PAUSE_MAX_MS), Deadline);
                false ->
                    {error, timeout}
            end;
        {error, _} = Error ->
            Error
    end.

-spec close(sock()) -> ok.
close(S) when is_port(S) ->
    _ = gen_tcp:close(S),
    ok;
close(S) ->
    _ = socket:close(S),
    ok.

%% @doc The peer as {Ip, Port}, the same shape on both transports.
-spec peername(sock()) -> {ok, {tuple(), 0..65535}} | {error, term()}.
peername(S) when is_port(S) ->
    inet:peername(S);
peername(S) ->
    case socket:peername(S) of
        {ok, #{addr := Addr, port := Port}} -> {ok, {Addr, Port}};
        {error, _} = Error -> Error
    end.

%% @doc The bound port of a listening socket.
-spec port(sock()) -> {ok, 0..65535} | {error, term()}.
port(L) when is_port(L) ->
    inet:port(L);
port(L) ->
    case socket:sockname(L) of
        {ok, #{port := Port}} -> {ok, Port};
        {error, _} = Error -> Error
    end.

%% @doc Makes `Pid' the socket's owner, so the socket closes when that process ends. On AtomVM any
%% process may use a `socket' socket and it closes when no process holds it, so there is nothing to do.
-spec controlling_process(sock(), pid()) -> ok | {error, term()}.
controlling_process(S, Pid) when is_port(S) ->
    gen_tcp:controlling_process(S, Pid);
controlling_process(S, Pid) ->
    case default() of
        gen_tcp -> socket:setopt(S, {otp, controlling_process}, Pid);
        socket -> ok
    end.
