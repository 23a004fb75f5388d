%% @doc Pure: the WebSocket wire protocol of RFC 6455, server side, and the opening-handshake checks.
%%
%% The parser is incremental: bytes may arrive in any split (one at a time included). It keeps at most a
%% frame header (14 bytes), the message being reassembled (at most `max_message' bytes, checked against
%% the declared frame length BEFORE any payload is buffered) and one control payload (at most 125 bytes).
%% Payload is unmasked and, for text, UTF-8 validated chunk by chunk as it arrives, so an invalid byte is
%% reported as soon as it is seen, and a code point split across chunks or fragments is handled.
%%
%% Spawns nothing, does no I/O, keeps no global state. Only calls what AtomVM has.
-module(httpd_ws_frame).

-export([
    new/1,
    parse/2,
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

%% RFC 6455 5.2 opcodes.
-define(OP_CONT, 0).
-define(OP_TEXT, 1).
-define(OP_BINARY, 2).
-define(OP_CLOSE, 8).
-define(OP_PING, 9).
-define(OP_PONG, 10).

%% RFC 6455 1.3: the GUID concatenated with the client's key before SHA-1.
-define(GUID, <<"258EAFA5-E914-47DA-95CA-C5AB0DC85B11">>).

-define(IS_CONT(B), ((B) band 16#C0) =:= 16#80).

-record(frag, {
    type :: text | binary,
    acc = [] :: [binary()],
    size = 0 :: non_neg_integer(),
    utf8 = <<>> :: utf8_state()
}).

-record(ws, {
    max :: non_neg_integer(),
    %% unconsumed bytes while waiting for a complete frame header (< 14 bytes)
    buf = <<>> :: binary(),
    %% header: reading a frame header; {payload, ...}: copying the current frame's payload
    phase = header :: header | {payload, Opcode :: 0..15, Fin :: boolean(), Key :: binary(),
                                Remaining :: non_neg_integer(), Offset :: non_neg_integer()},
    %% the data message being reassembled (across frames) or none
    frag = none :: none | #frag{},
    %% the payload of the control frame being read (reversed chunks)
    ctl = [] :: [binary()]
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

%% @doc True while a fragmented message is being reassembled.
-spec in_message(parser()) -> boolean().
in_message(#ws{frag = F}) -> F =/= none.

%% @doc Feeds bytes; returns the complete events they finish, in order. On a protocol violation returns
%% the events completed before it plus the close code to fail the connection with (RFC 6455 7.1.7):
%% 1002 protocol error, 1007 invalid UTF-8, 1009 message too big.
-spec parse(binary(), parser()) ->
    {ok, [event()], parser()} | {error, [event()], 1002 | 1007 | 1009, binary()}.
parse(Data, #ws{phase = header, buf = <<>>} = S) ->
    run(Data, S, []);
parse(Data, #ws{phase = header, buf = Buf} = S) ->
    run(<<Buf/binary, Data/binary>>, S#ws{buf = <<>>}, []);
parse(Data, S) ->
    run(Data, S, []).

run(<<>>, #ws{phase = header} = S, Acc) ->
    {ok, lists:reverse(Acc), S};
run(Data, #ws{phase = header} = S, Acc) ->
    case header(Data, S) of
        {more, S1} -> {ok, lists:reverse(Acc), S1};
        {frame, Phase, Rest, S1} -> payload(Rest, S1#ws{phase = Phase}, Acc);
        Error -> failed(Error, Acc)
    end;
run(Data, S, Acc) ->
    payload(Data, S, Acc).

%% RFC 6455 5.2. The first byte is checked as soon as it arrives and the second before the length is
%% read, so a bad frame fails at once.
header(<<B0, _/binary>> = Data, #ws{frag = Frag} = S) ->
    case first_byte(B0 bsr 7, (B0 bsr 4) band 7, B0 band 15, Frag) of
        ok -> header2(Data, S);
        Error -> Error
    end.

first_byte(_Fin, Rsv, _Op, _Frag) when Rsv =/= 0 ->
    %% no extension is ever negotiated, so RSV1-3 must be 0 (5.2)
    {error, 1002, <<"reserved bits set">>};
first_byte(_Fin, _Rsv, Op, _Frag) when (Op >= 3 andalso Op =< 7) orelse Op >= 11 ->
    {error, 1002, <<"reserved opcode">>};
first_byte(0, _Rsv, Op, _Frag) when Op >= 8 ->
    %% 5.5: control frames MUST NOT be fragmented
    {error, 1002, <<"fragmented control frame">>};
first_byte(_Fin, _Rsv, ?OP_CONT, none) ->
    {error, 1002, <<"continuation without a message">>};
first_byte(_Fin, _Rsv, Op, #frag{}) when Op =:= ?OP_TEXT; Op =:= ?OP_BINARY ->
    %% 5.4: fragments of one message may only be interleaved with control frames
    {error, 1002, <<"new message inside a fragmented message">>};
first_byte(_Fin, _Rsv, _Op, _Frag) ->
    ok.

header2(<<_, 0:1, _:7, _/binary>>, _S) ->
    %% 5.1: a server MUST close the connection upon receiving a frame that is not masked
    {error, 1002, <<"unmasked client frame">>};
header2(<<_:4, Op:4, _:1, Len:7, _/binary>>, _S) when Op >= 8, Len > 125 ->
    %% 5.5: all control frames MUST have a payload length of 125 bytes or less
    {error, 1002, <<"control frame too long">>};
header2(<<Fin:1, _:3, Op:4, 1:1, Len7:7, Rest/binary>> = Data, S) ->
    case length_and_key(Len7, Rest) of
        more ->
            {more, S#ws{buf = Data}};
        {error, _, _} = E ->
            E;
        {Len, Key, Rest1} ->
            case check_size(Op, Len, S) of
                ok -> {frame, {payload, Op, Fin =:= 1, Key, Len, 0}, Rest1, start_frame(Op, S)};
                {error, _, _} = E -> E
            end
    end;
header2(Data, S) ->
    {more, S#ws{buf = Data}}.

length_and_key(126, <<Len:16, Key:4/binary, Rest/binary>>) -> {Len, Key, Rest};
length_and_key(127, <<0:1, Len:63, Key:4/binary, Rest/binary>>) -> {Len, Key, Rest};
length_and_key(127, <<1:1, _/bitstring>>) ->
    %% 5.2: the most significant bit of a 64-bit length MUST be 0
    {error, 1002, <<"invalid 64-bit length">>};
length_and_key(Len, <<Key:4/binary, Rest/binary>>) when Len < 126 -> {Len, Key, Rest};
length_and_key(_, _) -> more.

%% The message limit is checked on the declared length, before one payload byte is kept.
check_size(Op, _Len, _S) when Op >= 8 -> ok;
check_size(?OP_CONT, Len, #ws{max = Max, frag = #frag{size = Size}}) when Size + Len > Max ->
    {error, 1009, <<"message too big">>};
check_size(Op, Len, #ws{max = Max}) when Op =/= ?OP_CONT, Len > Max ->
    {error, 1009, <<"message too big">>};
check_size(_, _, _) -> ok.

start_frame(?OP_TEXT, S) -> S#ws{frag = #frag{type = text}};
start_frame(?OP_BINARY, S) -> S#ws{frag = #frag{type = binary}};
start_frame(?OP_CONT, S) -> S;
start_frame(_Control, S) -> S#ws{ctl = []}.

payload(Data, #ws{phase = {payload, Op, Fin, Key, Remaining, Off}} = S, Acc) ->
    Size = byte_size(Data),
    Take = min(Size, Remaining),
    <<Chunk:Take/binary, Rest/binary>> = Data,
    case take(Op, mask(Chunk, Key, Off), S) of
        {ok, S1} when Size >= Remaining ->
            case finish(Op, Fin, S1#ws{phase = header}) of
                {ok, none, S2} -> run(Rest, S2, Acc);
                {ok, Event, S2} -> run(Rest, S2, [Event | Acc]);
                Error -> failed(Error, Acc)
            end;
        {ok, S1} ->
            Phase = {payload, Op, Fin, Key, Remaining - Size, (Off + Size) band 3},
            {ok, lists:reverse(Acc), S1#ws{phase = Phase}};
        Error ->
            failed(Error, Acc)
    end.

failed({error, Code, Why}, Acc) ->
    {error, lists:reverse(Acc), Code, Why}.

%% Keeps one unmasked chunk of payload; text is validated as it comes (RFC 6455 8.1).
take(_Op, <<>>, S) ->
    {ok, S};
take(Op, Chunk, #ws{ctl = Ctl} = S) when Op >= 8 ->
    {ok, S#ws{ctl = [Chunk | Ctl]}};
take(_Op, Chunk, #ws{frag = #frag{type = text, acc = A, size = N, utf8 = U} = F} = S) ->
    case utf8(Chunk, U) of
        {ok, U1} -> {ok, S#ws{frag = F#frag{acc = [Chunk | A], size = N + byte_size(Chunk), utf8 = U1}}};
        error -> {error, 1007, <<"invalid UTF-8 in text message">>}
    end;
take(_Op, Chunk, #ws{frag = #frag{acc = A, size = N} = F} = S) ->
    {ok, S#ws{frag = F#frag{acc = [Chunk | A], size = N + byte_size(Chunk)}}}.

%% A frame's payload is complete: emit a control event, or the message when this was its last fragment.
finish(Op, _Fin, #ws{ctl = Ctl} = S) when Op >= 8 ->
    Payload = join(Ctl),
    case control(Op, Payload) of
        {error, _, _} = E -> E;
        Event -> {ok, Event, S#ws{ctl = []}}
    end;
finish(_Op, false, S) ->
    {ok, none, S};
finish(_Op, true, #ws{frag = #frag{type = text, utf8 = U}}) when U =/= <<>> ->
    {error, 1007, <<"text message ends inside a code point">>};
finish(_Op, true, #ws{frag = #frag{type = Type, acc = A}} = S) ->
    {ok, {Type, join(A)}, S#ws{frag = none}}.

join([]) -> <<>>;
join([One]) -> One;
join(Rev) -> iolist_to_binary(lists:reverse(Rev)).

control(?OP_PING, P) -> {ping, P};
control(?OP_PONG, P) -> {pong, P};
control(?OP_CLOSE, <<>>) -> {close, none, <<>>};
control(?OP_CLOSE, <<_>>) ->
    %% 5.5.1: a close body starts with a 2-byte code
    {error, 1002, <<"close frame with a 1-byte body">>};
control(?OP_CLOSE, <<Code:16, Reason/binary>>) ->
    case valid_close_code(Code) of
        false ->
            {error, 1002, <<"invalid close code">>};
        true ->
            case utf8(Reason, <<>>) of
                {ok, <<>>} -> {close, Code, Reason};
                _ -> {error, 1007, <<"invalid UTF-8 in close reason">>}
            end
    end.

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
valid_close_code(C) when C >= 1000, C =< 1003 -> true;
valid_close_code(C) when C >= 1007, C =< 1014 -> true;
valid_close_code(C) when C >= 3000, C =< 4999 -> true;
valid_close_code(_) -> false.

%% ---------------------------------------------------------------------------------------------------------
%% Masking (RFC 6455 5.3)

%% @doc XORs Data with the 4-byte Key, starting at byte Offset (0-3) of the key: chunks of one frame's
%% payload can be unmasked as they arrive.
-spec mask(binary(), binary(), 0..3) -> binary().
mask(<<>>, _Key, _Off) -> <<>>;
mask(Data, Key, Off) ->
    %% start at key byte Off: rotate the key left by Off bytes
    <<Head:Off/binary, Tail/binary>> = Key,
    <<K:32>> = <<Tail/binary, Head/binary>>,
    mask32(Data, K).

mask32(Data, K) ->
    Whole = byte_size(Data) band (bnot 3),
    <<Body:Whole/binary, Tail/binary>> = Data,
    Masked = <<<<(W bxor K):32>> || <<W:32>> <= Body>>,
    %% the 0-3 tail bytes: zero-pad to a word, mask it, keep as many bytes as there were
    N = byte_size(Tail),
    <<T:32>> = <<Tail/binary, 0:((4 - N) * 8)>>,
    <<Out:N/binary, _/binary>> = <<(T bxor K):32>>,
    <<Masked/binary, Out/binary>>.

%% ---------------------------------------------------------------------------------------------------------
%% Serializing (server frames are never masked: RFC 6455 5.1)

%% @doc The bytes of one server frame. Control payloads must be at most 125 bytes and close codes valid
%% (RFC 6455 5.5, 7.4): anything else raises `badarg', which is a bug in the caller.
-spec serialize(frame()) -> iodata().
serialize({text, Data}) -> frame(?OP_TEXT, Data);
serialize({binary, Data}) -> frame(?OP_BINARY, Data);
serialize(ping) -> frame(?OP_PING, <<>>);
serialize({ping, Data}) -> control_frame(?OP_PING, Data);
serialize({pong, Data}) -> control_frame(?OP_PONG, Data);
serialize(close) -> frame(?OP_CLOSE, <<>>);
serialize({close, Code}) -> serialize({close, Code, <<>>});
serialize({close, Code, Reason}) when is_integer(Code) ->
    case valid_close_code(Code) of
        true -> control_frame(?OP_CLOSE, [<<Code:16>>, Reason]);
        false -> error(badarg)
    end;
serialize(_) ->
    error(badarg).

control_frame(Op, Data) ->
    case iolist_size(Data) of
        N when N =< 125 -> frame(Op, Data);
        _ -> error(badarg)
    end.

%% A whole unmasked frame.
frame(Op, Data) -> encode(true, 0, Op, none, Data).

%% @doc Any frame, masked with Key or not (`none'); Rsv is the 3 RSV bits. Used by serialize/1 and by
%% tests that play the client (including malformed frames).
-spec encode(boolean(), 0..7, 0..15, none | binary(), iodata()) -> iodata().
encode(Fin, Rsv, Op, Key, Data) ->
    Len = iolist_size(Data),
    F = case Fin of true -> 1; false -> 0 end,
    M = case Key of none -> 0; _ -> 1 end,
    Head = if
        Len < 126 -> <<F:1, Rsv:3, Op:4, M:1, Len:7>>;
        Len < 65536 -> <<F:1, Rsv:3, Op:4, M:1, 126:7, Len:16>>;
        true -> <<F:1, Rsv:3, Op:4, M:1, 127:7, Len:64>>
    end,
    case Key of
        none -> [Head, Data];
        <<_:4/binary>> -> [Head, Key, mask(iolist_to_binary(Data), Key, 0)]
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
    %% every check is cheap and runs once per connection: evaluate them all, report the first failure
    Checks = [
        {maps:get(method, Req, undefined) =:= <<"GET">>, 400, <<"WebSocket handshake must be GET">>},
        {version_ok(maps:get(version, Req, {1, 1})), 400, <<"WebSocket needs HTTP/1.1">>},
        %% a body would be read as frames after the upgrade
        {maps:get(body, Req, none) =:= none, 400, <<"WebSocket handshake with a body">>},
        {has_token(<<"upgrade">>, <<"websocket">>, Headers), 400, <<"missing Upgrade: websocket">>},
        {has_token(<<"connection">>, <<"upgrade">>, Headers), 400, <<"missing Connection: Upgrade">>}
        | version_check(header_values(<<"sec-websocket-version">>, Headers))
    ] ++ key_check(header_values(<<"sec-websocket-key">>, Headers)),
    case [{Status, Why} || {false, Status, Why} <- Checks] of
        [] ->
            [Key] = header_values(<<"sec-websocket-key">>, Headers),
            {ok, accept_key(Key), protocols(Headers)};
        [{Status, Why} | _] ->
            {error, Status, Why}
    end.

version_check([<<"13">>]) -> [];
version_check([]) -> [{false, 400, <<"missing Sec-WebSocket-Version">>}];
version_check(_) -> [{false, 426, <<"unsupported WebSocket version">>}].

key_check([Key]) -> [{key_ok(Key), 400, <<"invalid Sec-WebSocket-Key">>}];
key_check(_) -> [{false, 400, <<"missing Sec-WebSocket-Key">>}].

version_ok({Major, Minor}) -> Major > 1 orelse (Major =:= 1 andalso Minor >= 1);
version_ok(_) -> false.

%% 4.1: the key is a base64-encoded 16-byte nonce, 24 characters.
key_ok(Key) when byte_size(Key) =:= 24 ->
    try base64:decode(Key) of
        Raw -> byte_size(Raw) =:= 16
    catch
        _:_ -> false
    end;
key_ok(_) ->
    false.

%% @doc Sec-WebSocket-Accept for a key (RFC 6455 4.2.2 step 5.4): base64(SHA-1(Key ++ GUID)).
-spec accept_key(binary()) -> binary().
accept_key(Key) ->
    base64:encode(crypto:hash(sha, <<Key/binary, ?GUID/binary>>)).

protocols(Headers) ->
    [P || V <- header_values(<<"sec-websocket-protocol">>, Headers), P <- split_list(V)].

%% @doc The trimmed values of every header line with this (lowercase) name, in order.
-spec header_values(binary(), [{binary(), binary()}]) -> [binary()].
header_values(Name, Headers) ->
    [httpd_parse:trim(V) || {N, V} <- Headers, N =:= Name].

%% Whether a comma-separated header (RFC 9110 5.6.1) holds a token, compared case-insensitively.
has_token(Name, Token, Headers) ->
    lists:any(fun(V) -> lists:member(Token, [httpd_parse:lower(T) || T <- split_list(V)]) end,
              header_values(Name, Headers)).

split_list(V) ->
    [T || P <- binary:split(V, <<",">>, [global]), T <- [httpd_parse:trim(P)], T =/= <<>>].
