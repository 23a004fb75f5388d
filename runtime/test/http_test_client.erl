%% @doc Process (test helper): a small raw HTTP/1.1 client over gen_tcp for the EUnit suites. It
%% parses responses itself (never with the server's own parser) so the suites check the server
%% against an independent reading. Every wait is bounded by ?TIMEOUT.
-module(http_test_client).

-export([connect/1, send/2, response/1, response/2, get/2, request/3, closed/1, raw_until_close/1,
         header/2, start/1, start/2]).

-define(TIMEOUT, 5000).

%% @doc Starts an httpd_server on 127.0.0.1, port 0, with `Routes' and extra config.
-spec start(list()) -> {pid(), inet:port_number()}.
start(Routes) -> start(Routes, #{}).

-spec start(list(), map()) -> {pid(), inet:port_number()}.
start(Routes, Extra) ->
    {ok, Server} = httpd_server:start(maps:merge(#{port => 0, address => {127, 0, 0, 1}, routes => Routes}, Extra)),
    {Server, httpd_server:port(Server)}.

-spec connect(inet:port_number()) -> gen_tcp:socket().
connect(Port) ->
    {ok, S} = gen_tcp:connect({127, 0, 0, 1}, Port, [binary, {active, false}, {nodelay, true}], ?TIMEOUT),
    put({buf, S}, <<>>),
    S.

-spec send(gen_tcp:socket(), iodata()) -> ok | {error, term()}.
send(S, Data) -> gen_tcp:send(S, Data).

%% @doc One request on a new connection; the response.
-spec get(inet:port_number(), binary()) -> map().
get(Port, Path) ->
    S = connect(Port),
    ok = send(S, [<<"GET ">>, Path, <<" HTTP/1.1\r\nhost: t\r\n\r\n">>]),
    R = response(S),
    gen_tcp:close(S),
    R.

%% @doc Sends raw bytes on a new connection and reads one response.
-spec request(inet:port_number(), iodata(), get | head) -> map().
request(Port, Bytes, Kind) ->
    S = connect(Port),
    ok = send(S, Bytes),
    R = response(S, Kind),
    gen_tcp:close(S),
    R.

-spec response(gen_tcp:socket()) -> map().
response(S) -> response(S, get).

%% @doc Reads one response: `#{status, headers, body}' (body de-chunked), or `closed' when the
%% connection closed before a status line.
-spec response(gen_tcp:socket(), get | head) -> map() | closed.
response(S, Kind) ->
    case head(S) of
        closed ->
            closed;
        {Status, Headers} ->
            Body =
                case {Kind, Status} of
                    {head, _} -> <<>>;
                    {_, St} when St < 200; St =:= 204; St =:= 304 -> <<>>;
                    _ ->
                        case {header(<<"transfer-encoding">>, Headers), header(<<"content-length">>, Headers)} of
                            {<<"chunked">>, _} -> chunked(S, []);
                            {undefined, undefined} -> until_close(S);
                            {undefined, Len} -> take(S, binary_to_integer(Len))
                        end
                end,
            #{status => Status, headers => Headers, body => Body}
    end.

head(S) ->
    case line(S) of
        closed ->
            closed;
        <<"HTTP/1.1 ", Code:3/binary, _/binary>> ->
            {binary_to_integer(Code), headers(S, [])}
    end.

headers(S, Acc) ->
    case line(S) of
        <<>> ->
            lists:reverse(Acc);
        Line ->
            [Name, Value] = binary:split(Line, <<":">>),
            headers(S, [{string:lowercase(Name), string:trim(Value)} | Acc])
    end.

chunked(S, Acc) ->
    SizeLine = line(S),
    [Hex | _] = binary:split(SizeLine, <<";">>),
    case binary_to_integer(Hex, 16) of
        0 ->
            <<>> = line(S),
            iolist_to_binary(lists:reverse(Acc));
        N ->
            Data = take(S, N),
            <<>> = line(S),
            chunked(S, [Data | Acc])
    end.

%% @doc Header value by lowercase name.
-spec header(binary(), [{binary(), binary()}] | map()) -> binary() | undefined.
header(Name, #{headers := Hs}) -> header(Name, Hs);
header(Name, Hs) ->
    case lists:keyfind(Name, 1, Hs) of
        {_, V} -> V;
        false -> undefined
    end.

%% @doc True when the server closed the connection (reading nothing more than what is buffered).
-spec closed(gen_tcp:socket()) -> boolean().
closed(S) ->
    case get({buf, S}) of
        B when B =/= <<>>, B =/= undefined -> false;
        _ ->
            case gen_tcp:recv(S, 0, ?TIMEOUT) of
                {error, closed} -> true;
                {error, econnreset} -> true;
                {ok, Data} -> put({buf, S}, Data), false;
                {error, timeout} -> false
            end
    end.

%% @doc Everything until the server closes.
-spec raw_until_close(gen_tcp:socket()) -> binary().
raw_until_close(S) -> until_close(S).

line(S) ->
    Buf = get({buf, S}),
    case binary:split(Buf, <<"\r\n">>) of
        [Line, Rest] ->
            put({buf, S}, Rest),
            Line;
        [_] ->
            case gen_tcp:recv(S, 0, ?TIMEOUT) of
                {ok, Data} -> put({buf, S}, <<Buf/binary, Data/binary>>), line(S);
                {error, _} when Buf =:= <<>> -> closed;
                {error, Reason} -> error({line, Reason, Buf})
            end
    end.

take(S, N) ->
    Buf = get({buf, S}),
    case byte_size(Buf) >= N of
        true ->
            <<Data:N/binary, Rest/binary>> = Buf,
            put({buf, S}, Rest),
            Data;
        false ->
            {ok, More} = gen_tcp:recv(S, 0, ?TIMEOUT),
            put({buf, S}, <<Buf/binary, More/binary>>),
            take(S, N)
    end.

until_close(S) ->
    Buf = get({buf, S}),
    case gen_tcp:recv(S, 0, ?TIMEOUT) of
        {ok, Data} -> put({buf, S}, <<Buf/binary, Data/binary>>), until_close(S);
        {error, _} -> put({buf, S}, <<>>), Buf
    end.
