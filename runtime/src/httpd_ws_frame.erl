%% @doc Pure: the WebSocket wire protocol of RFC 6455, server side, and the opening-handshake checks.
%%
%% The parser is incremental: bytes may arrive in any split (one at a time included). It keeps at most a
%% frame header (14 bytes) or one whole control frame (6 + 125 bytes) and the message being reassembled
%% (at most `max_message' bytes, checked against the declared frame length BEFORE any payload is buffered).
%% Data payload is unmasked and, for text, UTF-8 validated chunk by chunk as it arrives, so an invalid
%% byte is reported as soon as it is seen, and a code point split across chunks or fragments is handled.
%%
%% Spawns nothing, does no I/O, keeps no global state. Only calls what AtomVM has.
-module(httpd_ws_frame).

-export([
    new/1,
    parse/2,
    closing/1,
    in_message/1,
    serialize/1,
    encode/5,
    mask/3,
    utf8_init/0,
    utf8/2,
    utf8_done/1,
    valid_close_code/1,
    handshake/1,
    accept_key/1,
    header_values/2,
    close_error/1
]).

-export_type([parser/0, event/0, frame/0, utf8_state/0]).

%% RFC 6455 5.2 opcodes: 0 continuation, 1 text, 2 binary, 8 close, 9 ping, 10 pong.

-define(IS_CONT(B), ((B) band 16#C0) =:= 16#80).

-record(ws, {
    max :: non_neg_integer(),
    %% unconsumed bytes while waiting for a complete frame header or control frame (< 132 bytes)
    buf = <<>> :: binary(),
    %% header: reading a frame header; else copying the current data frame's payload
    phase = header :: header | {Fin :: 0 | 1, Key :: binary() | skip, Remaining :: non_neg_integer(),
                                Offset :: 0..3},
    %% the data message being reassembled (across frames): its type, chunks (reversed), size, UTF-8 state
    type = none :: none | text | binary,
    acc = [] :: [binary()],
    size = 0 :: non_neg_integer(),
    utf8 = <<>> :: utf8_state(),
    %% closing: data payloads are skipped, not kept (see closing/1)
    drop = false :: boolean()
}).

-opaque parser() :: #ws{}.
-type event() :: {text, binary()} | {binary, binary()} | {ping, binary()} | {pong, binary()}
               | {close, none | 1000..4999, binary()}.
-type frame() :: {text, iodata()} | {binary, iodata()} | ping | {ping, iodata()} | {pong, iodata()}
               | close | {close, 1000..4999} | {close, 1000..4999, iodata()}.
%% Bytes of an incomplete code point carried over to the next chunk (0 to 3 bytes).
-type utf8_state() :: binary().

%% ---------------------------------------------------------------------------------------------------------
%% Parsing

%% @doc A parser for one connection. `max_message' bounds a reassembled message (default 65536).
-spec new(#{max_message => non_neg_integer(), _ => _}) -> parser().
new(Opts) ->
    #ws{max = maps:get(max_message, Opts, 65536)}.

%% @doc The parser to read on with after our close frame went out: frame boundaries are kept but data
%% payloads are skipped (never buffered, never checked against the limit), so the client's close frame is
%% found even right behind a message too big to keep (RFC 6455 1.4: data after a close is discarded).
%% Feed it the parser from before the failing chunk, then that chunk again.
-spec closing(parser()) -> parser().
closing(#ws{} = S) ->
    S#ws{drop = true, acc = [], size = 0, utf8 = <<>>}.

%% @doc True while a fragmented message is being reassembled.
-spec in_message(parser()) -> boolean().
in_message(#ws{type = T}) -> T =/= none.

%% @doc Feeds bytes; returns the complete events they finish, in order. On a protocol violation returns
%% the events completed before it plus the close code to fail the connection with (RFC 6455 7.1.7):
%% 1002 protocol error, 1007 invalid UTF-8, 1009 message too big.
-spec parse(binary(), parser()) ->
    {ok, [event()], parser()} | {error, [event()], 1002 | 1007 | 1009, binary()}.
parse(Data, #ws{buf = <<>>, phase = header} = S) -> header(Data, S, []);
parse(Data, #ws{buf = <<>>, drop = true} = S) -> skip(Data, S, []);
parse(Data, #ws{buf = <<>>} = S) -> payload(Data, S, []);
parse(Data, #ws{buf = Buf} = S) -> header(<<Buf/binary, Data/binary>>, S#ws{buf = <<>>}, []).

%% RFC 6455 5.2. The first byte is checked as soon as it arrives and the second before the length is
%% read, so a bad frame fails at once. A control frame (at most 125 bytes, 5.5) is handled whole.
header(<<Fin:1, Rsv:3, Op:4, Rest/binary>> = Data, #ws{type = Type} = S, Evs) ->
    if
        Rsv =/= 0 ->
            %% no extension is ever negotiated, so RSV1-3 must be 0 (5.2)
            failed(Evs, 1002, <<"reserved bits set">>);
        Op band 7 >= 3 ->
            %% 3-7 and 11-15
            failed(Evs, 1002, <<"reserved opcode">>);
        Op >= 8, Fin =:= 0 ->
            failed(Evs, 1002, <<"fragmented control frame">>);
        Op =:= 0, Type =:= none ->
            failed(Evs, 1002, <<"continuation without a message">>);
        Op =/= 0, Op < 8, Type =/= none ->
            %% 5.4: fragments of one message may only be interleaved with control frames
            failed(Evs, 1002, <<"new message inside a fragmented message">>);
        true ->
            case Rest of
                <<0:1, _/bitstring>> ->
                    %% 5.1: a server MUST close the connection upon receiving a frame that is not masked
                    failed(Evs, 1002, <<"unmasked client frame">>);
                <<_:1, Len:7, _/binary>> when Op >= 8, Len > 125 ->
                    failed(Evs, 1002, <<"control frame too long">>);
                <<_:1, Len:7, Key:4/binary, P:Len/binary, R/binary>> when Op >= 8 ->
                    case control(Op, mask(P, Key, 0)) of
                        {error, Code, Why} -> failed(Evs, Code, Why);
                        Event -> header(R, S, [Event | Evs])
                    end;
                <<_:1, 126:7, Len:16, Key:4/binary, R/binary>> when Op < 8 ->
                    data(Op, Fin, Len, Key, R, S, Evs);
                <<_:1, 127:7, 0:1, Len:63, Key:4/binary, R/binary>> when Op < 8 ->
                    data(Op, Fin, Len, Key, R, S, Evs);
                <<_:1, Len:7, Key:4/binary, R/binary>> when Op < 8, Len < 126 ->
                    data(Op, Fin, Len, Key, R, S, Evs);
                <<_:1, 127:7, 1:1, _/bitstring>> ->
                    failed(Evs, 1002, <<"invalid 64-bit length">>);
                _ ->
                    {ok, lists:reverse(Evs), S#ws{buf = Data}}
            end
    end;
header(<<>>, S, Evs) ->
    {ok, lists:reverse(Evs), S}.

%% A data frame's header: the message limit is checked on the declared length, before one payload byte
%% is kept.
data(Op, Fin, Len, _Key, R, #ws{drop = true, type = Type} = S, Evs) ->
    skip(R, S#ws{phase = {Fin, skip, Len, 0}, type = element(Op + 1, {Type, text, binary})}, Evs);
data(_Op, _Fin, Len, _Key, _R, #ws{max = Max, size = Size}, Evs) when Size + Len > Max ->
    failed(Evs, 1009, <<"message too big">>);
data(Op, Fin, Len, Key, R, #ws{type = Type} = S, Evs) ->
    payload(R, S#ws{phase = {Fin, Key, Len, 0}, type = element(Op + 1, {Type, text, binary})}, Evs).

%% Copies the payload as it arrives, unmasked; text is validated as it comes (RFC 6455 8.1).
payload(Data, #ws{phase = {Fin, Key, Left, Off}, type = Type, acc = Acc, size = Size, utf8 = U} = S, Evs) ->
    N = min(byte_size(Data), Left),
    <<Chunk:N/binary, Rest/binary>> = Data,
    Plain = mask(Chunk, Key, Off),
    Acc1 = [Plain | Acc],
    case Type of
        text -> Valid = utf8(Plain, U);
        binary -> Valid = {ok, U}
    end,
    case Valid of
        error ->
            failed(Evs, 1007, <<"invalid UTF-8 in text message">>);
        {ok, U1} when N < Left ->
            Phase = {Fin, Key, Left - N, (Off + N) band 3},
            {ok, lists:reverse(Evs), S#ws{phase = Phase, acc = Acc1, size = Size + N, utf8 = U1}};
        {ok, U1} when Fin =:= 0 ->
            header(Rest, S#ws{phase = header, acc = Acc1, size = Size + N, utf8 = U1}, Evs);
        {ok, <<>>} ->
            Message = case Acc1 of
                [One] -> One;
                _ -> iolist_to_binary(lists:reverse(Acc1))
            end,
            header(Rest, S#ws{phase = header, type = none, acc = [], size = 0, utf8 = <<>>},
                   [{Type, Message} | Evs]);
        {ok, _} ->
            failed(Evs, 1007, <<"text message ends inside a code point">>)
    end.

%% Closing: the payload of the current data frame is passed over.
skip(Data, #ws{phase = {Fin, Key, Left, Off}} = S, Evs) when byte_size(Data) < Left ->
    {ok, lists:reverse(Evs), S#ws{phase = {Fin, Key, Left - byte_size(Data), Off}}};
skip(Data, #ws{phase = {Fin, _Key, Left, _Off}} = S, Evs) ->
    <<_:Left/binary, Rest/binary>> = Data,
    Type = case Fin of 0 -> S#ws.type; 1 -> none end,
    header(Rest, S#ws{phase = header, type = Type}, Evs).

failed(Evs, Code, Why) ->
    {error, lists:reverse(Evs), Code, Why}.

control(8, <<>>) ->
    {close, none, <<>>};
control(8, <<_>>) ->
    %% 5.5.1: a close body starts with a 2-byte code
    {error, 1002, <<"close frame with a 1-byte body">>};
control(8, <<Code:16, Reason/binary>>) ->
    case valid_close_code(Code) of
        false ->
            {error, 1002, <<"invalid close code">>};
        true ->
            case utf8(Reason, <<>>) of
                {ok, <<>>} -> {close, Code, Reason};
                _ -> {error, 1007, <<"invalid UTF-8 in close reason">>}
            end
    end;
control(Op, P) ->
    %% 9 ping, 10 pong
    {element(Op - 8, {ping, pong}), P}.

%% @doc Whether a parse error was found in the client's close frame: the client has then closed already
%% and there is no close frame to wait for.
-spec close_error(binary()) -> boolean().
close_error(Why) ->
    lists:member(Why, [<<"close frame with a 1-byte body">>, <<"invalid close code">>,
                       <<"invalid UTF-8 in close reason">>]).

%% @doc Whether a peer may send this close code (RFC 6455 7.4.1, 7.4.2 and the IANA registry):
%% 1000-1003 and 1007-1014 are defined for use on the wire, 3000-4999 are for libraries and applications.
%% 1004 is reserved, 1005, 1006 and 1015 must never be sent, the rest of 0-2999 is unassigned.
-spec valid_close_code(integer()) -> boolean().
valid_close_code(C) ->
    (C >= 1000 andalso C =< 1003) orelse (C >= 1007 andalso C =< 1014) orelse (C >= 3000 andalso C =< 4999).

%% ---------------------------------------------------------------------------------------------------------
%% Masking (RFC 6455 5.3)

%% @doc XORs Data with the 4-byte Key, starting at byte Offset (0-3) of the key: chunks of one frame's
%% payload can be unmasked as they arrive.
-spec mask(binary(), binary(), 0..3) -> binary().
mask(Data, Key, Off) ->
    %% start at key byte Off: rotate the key left by Off bytes
    <<Head:Off/binary, Tail/binary>> = Key,
    <<K:32>> = <<Tail/binary, Head/binary>>,
    %% whole words (the generator stops before the 0-3 tail bytes), then the tail with the key's top bytes
    Whole = byte_size(Data) band -4,
    Bits = (byte_size(Data) - Whole) * 8,
    <<_:Whole/binary, T:Bits>> = Data,
    <<<<<<(W bxor K):32>> || <<W:32>> <= Data>>/binary, (T bxor (K bsr (32 - Bits))):Bits>>.

%% ---------------------------------------------------------------------------------------------------------
%% Serializing (server frames are never masked: RFC 6455 5.1)

%% @doc The bytes of one server frame. Control payloads must be at most 125 bytes and close codes valid
%% (RFC 6455 5.5, 7.4): anything else raises `badarg', which is a bug in the caller.
-spec serialize(frame()) -> iodata().
serialize({text, Data}) -> encode(true, 0, 1, none, Data);
serialize({binary, Data}) -> encode(true, 0, 2, none, Data);
serialize(ping) -> control_frame(9, <<>>);
serialize({ping, Data}) -> control_frame(9, Data);
serialize({pong, Data}) -> control_frame(10, Data);
serialize(close) -> control_frame(8, <<>>);
serialize({close, Code}) -> serialize({close, Code, <<>>});
serialize({close, Code, Reason}) ->
    %% a non-integer code fails in the binary construction
    valid_close_code(Code) orelse error(badarg),
    control_frame(8, [<<Code:16>>, Reason]);
serialize(_) ->
    error(badarg).

control_frame(Op, Data) ->
    iolist_size(Data) =< 125 orelse error(badarg),
    encode(true, 0, Op, none, Data).

%% @doc Any frame, masked with Key or not (`none'); Rsv is the 3 RSV bits. Used by serialize/1 and by
%% tests that play the client (including malformed frames).
-spec encode(boolean(), 0..7, 0..15, none | binary(), iodata()) -> iodata().
encode(Fin, Rsv, Op, Key, Data) ->
    Len = iolist_size(Data),
    %% the shortest length encoding: 7 bits, or 126/127 and 16/64 more bits
    {Len7, ExtBits} = if
        Len < 126 -> {Len, 0};
        Len < 65536 -> {126, 16};
        true -> {127, 64}
    end,
    F = case Fin of true -> 1; false -> 0 end,
    case Key of
        none -> [<<F:1, Rsv:3, Op:4, 0:1, Len7:7, Len:ExtBits>>, Data];
        <<_:4/binary>> -> [<<F:1, Rsv:3, Op:4, 1:1, Len7:7, Len:ExtBits>>, Key, mask(iolist_to_binary(Data), Key, 0)]
    end.

%% ---------------------------------------------------------------------------------------------------------
%% UTF-8 (RFC 3629 section 4: no overlongs, no surrogates, nothing above U+10FFFF)

%% @doc The state before any text.
-spec utf8_init() -> utf8_state().
utf8_init() -> <<>>.

%% @doc Validates the next chunk of a text. `{ok, State}' carries an incomplete but so far valid code
%% point (0-3 bytes) into the next chunk; `error' as soon as a byte cannot be part of valid UTF-8.
-spec utf8(binary(), utf8_state()) -> {ok, utf8_state()} | error.
utf8(Chunk, <<>>) -> utf8_scan(Chunk);
utf8(Chunk, Pending) -> utf8_scan(<<Pending/binary, Chunk/binary>>).

%% @doc True when a text ended on a code point boundary.
-spec utf8_done(utf8_state()) -> boolean().
utf8_done(State) -> State =:= <<>>.

%% Four ASCII bytes at a time: the common case.
utf8_scan(<<W:32, R/binary>>) when W band 16#80808080 =:= 0 -> utf8_scan(R);
utf8_scan(<<C, R/binary>>) when C < 16#80 -> utf8_scan(R);
utf8_scan(<<C, R/binary>> = Seq) ->
    case lead(C) of
        {N, Lo, Hi} ->
            case R of
                <<C2, R2/binary>> when C2 >= Lo, C2 =< Hi -> cont(N - 1, R2, Seq);
                <<>> -> {ok, Seq};
                _ -> error
            end;
        error ->
            error
    end;
utf8_scan(<<>>) -> {ok, <<>>}.

%% The continuation bytes after the second byte. Running out of input inside a sequence is fine: Seq
%% (at most 3 bytes from the lead byte on) waits for the next chunk.
cont(0, R, _Seq) -> utf8_scan(R);
cont(N, <<C, R/binary>>, Seq) when ?IS_CONT(C) -> cont(N - 1, R, Seq);
cont(_, <<>>, Seq) -> {ok, Seq};
cont(_, _, _) -> error.

%% A lead byte: how many bytes follow and the range of the second one, which is what excludes overlong
%% forms (E0, F0), surrogates (ED) and code points above U+10FFFF (F4) (RFC 3629 section 4).
lead(C) when C >= 16#C2, C =< 16#DF -> {1, 16#80, 16#BF};
lead(16#E0) -> {2, 16#A0, 16#BF};
lead(16#ED) -> {2, 16#80, 16#9F};
lead(C) when C >= 16#E1, C =< 16#EF -> {2, 16#80, 16#BF};
lead(16#F0) -> {3, 16#90, 16#BF};
lead(16#F4) -> {3, 16#80, 16#8F};
lead(C) when C >= 16#F1, C =< 16#F3 -> {3, 16#80, 16#BF};
lead(_) -> error.

%% ---------------------------------------------------------------------------------------------------------
%% Opening handshake (RFC 6455 4.2.1, 4.2.2)

%% @doc Checks a parsed request (the map httpd_conn builds) for a valid client opening handshake.
%% `{ok, Accept, Protocols}': the Sec-WebSocket-Accept value and the offered subprotocols in order;
%% `{error, 400, Why}' for a request that is not a WebSocket handshake; `{error, 426, Why}' for a version
%% other than 13 (the reply must then carry `Sec-WebSocket-Version: 13', 4.4).
-spec handshake(map()) -> {ok, binary(), [binary()]} | {error, 400 | 426, binary()}.
handshake(Req) ->
    Headers = maps:get(headers, Req, []),
    Versions = header_values(<<"sec-websocket-version">>, Headers),
    Keys = header_values(<<"sec-websocket-key">>, Headers),
    %% every check is cheap and runs once per connection: evaluate them all, report the first failure
    Checks = [
        {maps:get(method, Req, undefined) =:= <<"GET">>, 400, <<"WebSocket handshake must be GET">>},
        %% the parser only makes {1, 0} and {1, 1}
        {maps:get(version, Req, {1, 1}) >= {1, 1}, 400, <<"WebSocket needs HTTP/1.1">>},
        %% a body would be read as frames after the upgrade
        {maps:get(body, Req, none) =:= none, 400, <<"WebSocket handshake with a body">>},
        {has_token(<<"upgrade">>, <<"websocket">>, Headers), 400, <<"missing Upgrade: websocket">>},
        {has_token(<<"connection">>, <<"upgrade">>, Headers), 400, <<"missing Connection: Upgrade">>},
        {Versions =/= [], 400, <<"missing Sec-WebSocket-Version">>},
        {Versions =:= [<<"13">>], 426, <<"unsupported WebSocket version">>},
        {length(Keys) =:= 1, 400, <<"missing Sec-WebSocket-Key">>},
        {key_ok(Keys), 400, <<"invalid Sec-WebSocket-Key">>}
    ],
    case lists:keyfind(false, 1, Checks) of
        false -> {ok, accept_key(hd(Keys)), tokens(<<"sec-websocket-protocol">>, Headers)};
        {_, Status, Why} -> {error, Status, Why}
    end.

%% 4.1: the key is a base64-encoded 16-byte nonce, 24 characters.
key_ok([Key]) when byte_size(Key) =:= 24 ->
    try byte_size(base64:decode(Key)) =:= 16
    catch _:_ -> false
    end;
key_ok(_) ->
    false.

%% @doc Sec-WebSocket-Accept for a key (RFC 6455 4.2.2 step 5.4): base64(SHA-1(Key ++ GUID)).
-spec accept_key(binary()) -> binary().
accept_key(Key) ->
    %% RFC 6455 1.3: the GUID concatenated with the client's key
    base64:encode(crypto:hash(sha, <<Key/binary, "258EAFA5-E914-47DA-95CA-C5AB0DC85B11">>)).

%% @doc The trimmed values of every header line with this (lowercase) name, in order.
-spec header_values(binary(), [{binary(), binary()}]) -> [binary()].
header_values(Name, Headers) ->
    [httpd_parse:trim(V) || {N, V} <- Headers, N =:= Name].

%% Whether a comma-separated header holds a token, compared case-insensitively.
has_token(Name, Token, Headers) ->
    lists:member(Token, tokens(Name, [{N, httpd_parse:lower(V)} || {N, V} <- Headers])).

%% The non-empty, trimmed elements of every comma-separated header line with this name (RFC 9110 5.6.1).
tokens(Name, [{Name, V} | Rest]) -> elements(binary:split(V, <<",">>, [global]), tokens(Name, Rest));
tokens(Name, [_ | Rest]) -> tokens(Name, Rest);
tokens(_Name, []) -> [].

elements([P | Ps], Tail) ->
    case httpd_parse:trim(P) of
        <<>> -> elements(Ps, Tail);
        T -> [T | elements(Ps, Tail)]
    end;
elements([], Tail) ->
    Tail.
