%% @doc Pure. Incremental HTTP/1.1 request-head and message-body parser over binaries.
%%
%% `request/2' takes the bytes read from a socket in any split (one byte at a time included) and returns
%% `{more, State}' until the whole head (request line + header section, RFC 9112 section 2.1) has been
%% seen, then `{request, Head, Rest}' with the bytes after the head. Every buffer is bounded by the config
%% map: `max_request_line' (414), `max_header_bytes' and `max_headers' (431), `max_body' (413 when a
%% Content-Length exceeds it). `body_init/2' + `body/2' then read a Content-Length or chunked body
%% (RFC 9112 section 7.1) without keeping it whole.
%%
%% The common case, a whole head in one binary, is handled without copying: lines are found with
%% `binary:match/2' and every field of the head is a sub-binary of the input.
%% Only functions AtomVM implements are called (see runtime_compat_tests); no atoms are made from input.
-module(httpd_parse).

-export([new/1, request/2, body_init/2, body/2, decode_query/1, percent_decode/1]).
%% Small binary helpers shared with the other modules (one copy on the device).
-export([trim/1, lower/1, ieq/2, hexval/1]).
-export_type([state/0, body_state/0, head/0]).

-record(p, {
    %% start: waiting for the request line; headers: reading header field lines
    phase = start :: start | headers,
    %% bytes of an incomplete line carried over from the previous call
    buf = <<>> :: binary(),
    %% empty lines skipped before the request line (RFC 9112 section 2.2)
    empties = 0 :: non_neg_integer(),
    line :: undefined | {binary(), binary(), {1, 0 | 1}},
    hdrs = [] :: [{binary(), binary()}],
    nhdrs = 0 :: non_neg_integer(),
    hbytes = 0 :: non_neg_integer(),
    max_line :: pos_integer(),
    max_hbytes :: pos_integer(),
    max_headers :: pos_integer(),
    max_body :: non_neg_integer() | infinity
}).

-opaque state() :: #p{}.
-type head() :: #{
    method := binary(),
    raw_path := binary(),
    path := binary(),
    qs := binary(),
    query := [{binary(), binary()}],
    version := {1, 0 | 1},
    headers := [{binary(), binary()}],
    body := none | {length, non_neg_integer()} | chunked,
    keepalive := boolean(),
    expect_continue := boolean()
}.
-type status() :: 400 | 413 | 414 | 431 | 501 | 505.

%% Body reader states. `chunked' phases: size (reading a chunk-size line), data (N bytes of chunk data
%% left), crlf (the CRLF after chunk data), trailer (trailer field lines after the last chunk).
-opaque body_state() ::
    {len, non_neg_integer()}
    | {too_big, non_neg_integer()}
    | {chunked, size | {data, non_neg_integer()} | crlf | trailer, binary(), non_neg_integer(),
        non_neg_integer(), non_neg_integer()}.

%% Leading empty lines tolerated before a request line (RFC 9112 section 2.2 asks for at least one).
-define(MAX_EMPTIES, 8).
%% A chunk-size line with its extensions (RFC 9112 section 7.1.1) is at most this long.
-define(MAX_CHUNK_LINE, 256).
%% Trailer section after the last chunk (RFC 9112 section 7.1.2) is at most this many bytes.
-define(MAX_TRAILER, 4096).
%% Content-Length digits accepted before the value is called too large (keeps integers small on AtomVM).
-define(MAX_CL_DIGITS, 15).

%% ---------------------------------------------------------------------------------------------
%% Request head
%% ---------------------------------------------------------------------------------------------

%% @doc A parser for one request head. Reads `max_request_line' (default 2048), `max_header_bytes'
%% (default 4096, the header field lines with their line ends), `max_headers' (default 32) and
%% `max_body' (default: unchecked here) from the config map.
-spec new(Limits :: map()) -> state().
new(Limits) when is_map(Limits) ->
    #p{
        max_line = maps:get(max_request_line, Limits, 2048),
        max_hbytes = maps:get(max_header_bytes, Limits, 4096),
        max_headers = maps:get(max_headers, Limits, 32),
        max_body = maps:get(max_body, Limits, infinity)
    }.

%% @doc Feeds bytes to the parser.
-spec request(Data :: binary(), state()) ->
    {more, state()} | {request, head(), Rest :: binary()} | {error, status(), Reason :: binary()}.
request(Data, #p{buf = <<>>} = P) ->
    lines(Data, P);
request(Data, #p{buf = Buf} = P) ->
    lines(<<Buf/binary, Data/binary>>, P#p{buf = <<>>}).

lines(Bin, P) ->
    case binary:match(Bin, <<"\n">>) of
        nomatch ->
            partial(Bin, P);
        {Pos, 1} ->
            %% CRLF, or a bare LF (RFC 9112 section 2.2 lets a recipient accept it)
            L = Pos - 1,
            case Bin of
                <<Line:L/binary, "\r\n", Rest/binary>> -> line(Line, Pos + 1, Rest, P);
                <<Line:Pos/binary, "\n", Rest/binary>> -> line(Line, Pos + 1, Rest, P)
            end
    end.

strip_cr(Line) ->
    case byte_size(Line) - 1 of
        L when L >= 0 ->
            case Line of
                <<Content:L/binary, "\r">> -> Content;
                _ -> Line
            end;
        _ ->
            Line
    end.

%% An incomplete line: keep it, unless it is already past its bound (one byte of slack for a CR).
partial(Bin, #p{phase = start, max_line = Max} = P) ->
    case byte_size(Bin) > Max + 1 of
        true -> {error, 414, <<"request line too long">>};
        false -> {more, P#p{buf = Bin}}
    end;
partial(<<"\r">> = Bin, P) ->
    %% possibly the start of the empty line that ends the head, which does not count
    {more, P#p{buf = Bin}};
partial(Bin, #p{hbytes = Used, max_hbytes = Max} = P) ->
    case Used + byte_size(Bin) > Max of
        true -> {error, 431, <<"header section too large">>};
        false -> {more, P#p{buf = Bin}}
    end.

%% One complete line (terminator removed); Raw is its size with the terminator.
line(<<>>, _Raw, Rest, #p{phase = start, empties = E} = P) ->
    case E < ?MAX_EMPTIES of
        true -> lines(Rest, P#p{empties = E + 1});
        false -> {error, 400, <<"too many empty lines before request">>}
    end;
line(Line, _Raw, Rest, #p{phase = start, max_line = Max} = P) ->
    case byte_size(Line) > Max of
        true ->
            {error, 414, <<"request line too long">>};
        false ->
            case request_line(Line) of
                {ok, RL} -> lines(Rest, P#p{phase = headers, line = RL});
                {error, _, _} = Err -> Err
            end
    end;
line(<<>>, _Raw, Rest, P) ->
    finish(Rest, P);
line(Line, Raw, Rest, #p{hbytes = Used, max_hbytes = MaxB, nhdrs = N, max_headers = MaxN} = P) ->
    if
        Used + Raw > MaxB ->
            {error, 431, <<"header section too large">>};
        N >= MaxN ->
            {error, 431, <<"too many header fields">>};
        true ->
            case field(Line) of
                {ok, H} ->
                    lines(Rest, P#p{hdrs = [H | P#p.hdrs], nhdrs = N + 1, hbytes = Used + Raw});
                {error, _, _} = Err ->
                    Err
            end
    end.

%% request-line = method SP request-target SP HTTP-version (RFC 9112 section 3)
request_line(Line) ->
    case binary:split(Line, <<" ">>) of
        [Method, Rest1] ->
            case binary:split(Rest1, <<" ">>) of
                [Target, Version] -> request_line(Method, Target, Version);
                _ -> {error, 400, <<"malformed request line">>}
            end;
        _ ->
            {error, 400, <<"malformed request line">>}
    end.

request_line(Method, Target, Version) ->
    case is_token(Method) of
        false ->
            {error, 400, <<"bad method">>};
        true ->
            case version(Version) of
                {ok, V} ->
                    case known_method(Method) of
                        true ->
                            case is_target(Target) of
                                true -> {ok, {Method, Target, V}};
                                false -> {error, 400, <<"bad request target">>}
                            end;
                        false ->
                            {error, 501, <<"method not implemented">>}
                    end;
                {error, _, _} = Err ->
                    Err
            end
    end.

%% One literal list (most frequent first) rather than a clause per method: less code.
known_method(M) ->
    lists:member(M, [
        <<"GET">>, <<"HEAD">>, <<"POST">>, <<"PUT">>, <<"DELETE">>, <<"PATCH">>, <<"OPTIONS">>
    ]).

%% HTTP-version = "HTTP/" DIGIT "." DIGIT, case-sensitive (RFC 9112 section 2.3)
version(<<"HTTP/1.1">>) -> {ok, {1, 1}};
version(<<"HTTP/1.0">>) -> {ok, {1, 0}};
version(<<"HTTP/", A, ".", B>>) when A >= $0, A =< $9, B >= $0, B =< $9 ->
    {error, 505, <<"HTTP version not supported">>};
version(_) ->
    {error, 400, <<"bad HTTP version">>}.

%% tchar (RFC 9110 section 5.6.2)
is_token(<<>>) -> false;
is_token(B) -> all_tchar(B).

all_tchar(<<>>) -> true;
all_tchar(<<C, R/binary>>) ->
    case tchar(C) of
        true -> all_tchar(R);
        false -> false
    end.

tchar(C) when C >= $a, C =< $z -> true;
tchar(C) when C >= $A, C =< $Z -> true;
tchar(C) when C >= $0, C =< $9 -> true;
tchar($!) -> true;
tchar($#) -> true;
tchar($$) -> true;
tchar($%) -> true;
tchar($&) -> true;
tchar($') -> true;
tchar($*) -> true;
tchar($+) -> true;
tchar($-) -> true;
tchar($.) -> true;
tchar($^) -> true;
tchar($_) -> true;
tchar($`) -> true;
tchar($|) -> true;
tchar($~) -> true;
tchar(_) -> false.

%% request-target: visible ASCII only, no '#' (RFC 9112 section 3.2; fragments are never sent).
is_target(<<>>) -> false;
is_target(B) -> all_vchar(B).

all_vchar(<<>>) -> true;
all_vchar(<<$#, _/binary>>) -> false;
all_vchar(<<C, R/binary>>) when C > 16#20, C < 16#7F -> all_vchar(R);
all_vchar(_) -> false.

%% field-line = field-name ":" OWS field-value OWS (RFC 9112 section 5)
field(<<C, _/binary>>) when C =:= $\s; C =:= $\t ->
    %% obs-fold: RFC 9112 section 5.2 lets a server reject it with 400
    {error, 400, <<"obsolete line folding">>};
field(Line) ->
    case binary:match(Line, <<":">>) of
        nomatch ->
            {error, 400, <<"header field without colon">>};
        {0, _} ->
            {error, 400, <<"empty header name">>};
        {Pos, 1} ->
            Name = binary:part(Line, 0, Pos),
            Value = binary:part(Line, Pos + 1, byte_size(Line) - Pos - 1),
            case lower_name(Name) of
                error ->
                    case binary:last(Name) of
                        %% RFC 9112 section 5.1: whitespace before the colon MUST be rejected with 400
                        W when W =:= $\s; W =:= $\t -> {error, 400, <<"whitespace before colon">>};
                        _ -> {error, 400, <<"bad header name">>}
                    end;
                LName ->
                    case valid_value(Value) of
                        true -> {ok, {LName, trim(Value)}};
                        false -> {error, 400, <<"bad character in header value">>}
                    end
            end
    end.

%% Frequent names in their usual spelling map to literals without building a binary (one literal
%% list: a fraction of the code of a clause per name); lower-case names are returned as they are.
lower_name(Name) ->
    case lists:keyfind(Name, 1, [
        {<<"Host">>, <<"host">>},
        {<<"Connection">>, <<"connection">>},
        {<<"Content-Length">>, <<"content-length">>},
        {<<"Content-Type">>, <<"content-type">>},
        {<<"Transfer-Encoding">>, <<"transfer-encoding">>},
        {<<"User-Agent">>, <<"user-agent">>},
        {<<"Accept">>, <<"accept">>},
        {<<"Accept-Encoding">>, <<"accept-encoding">>},
        {<<"Accept-Language">>, <<"accept-language">>},
        {<<"Upgrade">>, <<"upgrade">>},
        {<<"Origin">>, <<"origin">>},
        {<<"Sec-WebSocket-Key">>, <<"sec-websocket-key">>},
        {<<"Sec-WebSocket-Version">>, <<"sec-websocket-version">>}
    ]) of
        {_, Lower} -> Lower;
        false -> lower_token(Name, Name, 0)
    end.

%% Validates a token; returns it as is when it has no upper case letter, else a lower-cased copy.
lower_token(<<>>, Name, 0) ->
    Name;
lower_token(<<>>, Name, _Upper) ->
    lower(Name);
lower_token(<<C, R/binary>>, Name, U) when C >= $A, C =< $Z ->
    lower_token(R, Name, U + 1);
lower_token(<<C, R/binary>>, Name, U) ->
    case tchar(C) of
        true -> lower_token(R, Name, U);
        false -> error
    end.

%% @doc ASCII lower case of a binary (header names, tokens); other bytes are kept.
-spec lower(binary()) -> binary().
lower(B) -> <<<<(lc(C))>> || <<C>> <= B>>.

lc(C) when C >= $A, C =< $Z -> C + 32;
lc(C) -> C.

%% field-value: VCHAR, obs-text, SP and HTAB; any other control byte (NUL, CR, DEL, ...) is refused
%% (RFC 9110 section 5.5).
valid_value(<<>>) -> true;
valid_value(<<C, R/binary>>) when C >= 16#20, C =/= 16#7F -> valid_value(R);
valid_value(<<$\t, R/binary>>) -> valid_value(R);
valid_value(_) -> false.

%% @doc Removes leading and trailing spaces and tabs (OWS, RFC 9110 section 5.6.3).
-spec trim(binary()) -> binary().
trim(B) -> trim_right(trim_left(B)).

trim_left(<<C, R/binary>>) when C =:= $\s; C =:= $\t -> trim_left(R);
trim_left(B) -> B.

trim_right(<<>>) -> <<>>;
trim_right(B) ->
    N = byte_size(B),
    case binary:at(B, N - 1) of
        C when C =:= $\s; C =:= $\t -> trim_right(binary:part(B, 0, N - 1));
        _ -> B
    end.

%% The empty line ending the header section has been read: interpret the head.
finish(Rest, #p{line = {Method, Target, Version}, hdrs = RevHdrs} = P) ->
    Headers = lists:reverse(RevHdrs),
    case target(Method, Target) of
        {ok, Raw, Path, Qs} ->
            case semantics(Headers, Version, P#p.max_body) of
                {ok, Body, KeepAlive, Expect} ->
                    Head = #{
                        method => Method,
                        raw_path => Raw,
                        path => Path,
                        qs => Qs,
                        query => decode_query(Qs),
                        version => Version,
                        headers => Headers,
                        body => Body,
                        keepalive => KeepAlive,
                        expect_continue => Expect
                    },
                    {request, Head, Rest};
                {error, _, _} = Err ->
                    Err
            end;
        {error, _, _} = Err ->
            Err
    end.

%% origin-form, absolute-form and asterisk-form (RFC 9112 section 3.2). Returns the target in origin-form
%% (raw), the decoded path and the raw query.
target(_Method, <<"/", _/binary>> = T) ->
    path_qs(T);
target(<<"OPTIONS">>, <<"*">>) ->
    {ok, <<"*">>, <<"*">>, <<>>};
target(_Method, T) ->
    case absolute(T) of
        {ok, PathQs} -> path_qs(PathQs);
        error -> {error, 400, <<"bad request target">>}
    end.

%% absolute-form: a server MUST accept it (RFC 9112 section 3.2.2); the authority is not used for routing.
absolute(T) ->
    AfterScheme =
        case T of
            <<"http://", R/binary>> -> {ok, R};
            <<"https://", R/binary>> -> {ok, R};
            _ -> error
        end,
    case AfterScheme of
        {ok, <<>>} ->
            error;
        {ok, R2} ->
            case first_of(R2, <<"/">>, <<"?">>) of
                nomatch -> {ok, <<"/">>};
                0 -> error;
                Pos -> slash(binary:part(R2, Pos, byte_size(R2) - Pos))
            end;
        error ->
            error
    end.

%% Position of the first of two one-byte patterns (single-pattern binary:match only, for AtomVM).
first_of(B, P1, P2) ->
    case {binary:match(B, P1), binary:match(B, P2)} of
        {nomatch, nomatch} -> nomatch;
        {{A, _}, nomatch} -> A;
        {nomatch, {C, _}} -> C;
        {{A, _}, {C, _}} -> min(A, C)
    end.

slash(<<"?", _/binary>> = Qs) -> {ok, <<"/", Qs/binary>>};
slash(PathQs) -> {ok, PathQs}.

path_qs(T) ->
    {RawPath, Qs} =
        case binary:match(T, <<"?">>) of
            nomatch -> {T, <<>>};
            {Pos, 1} -> {binary:part(T, 0, Pos), binary:part(T, Pos + 1, byte_size(T) - Pos - 1)}
        end,
    case percent_decode(RawPath) of
        {ok, RawPath} ->
            %% nothing was encoded; the raw path has no NUL (it passed is_target/1)
            {ok, T, RawPath, Qs};
        {ok, Path} ->
            case binary:match(Path, <<0>>) of
                nomatch -> {ok, T, Path, Qs};
                _ -> {error, 400, <<"NUL in path">>}
            end;
        error ->
            {error, 400, <<"bad percent-encoding in path">>}
    end.

%% Framing and connection semantics from the header fields (RFC 9112 sections 6, 9.3; RFC 9110 10.1.1).
semantics(Headers, Version, MaxBody) ->
    scan(Headers, Version, MaxBody, #{}).

scan([], Version, MaxBody, Acc) ->
    decide(Version, MaxBody, Acc);
scan([{<<"host">>, _} | R], V, M, Acc) ->
    case maps:is_key(host, Acc) of
        %% RFC 9112 section 3.2: more than one Host field line → 400
        true -> {error, 400, <<"duplicate Host header">>};
        false -> scan(R, V, M, Acc#{host => true})
    end;
scan([{<<"content-length">>, Val} | R], V, M, Acc) ->
    case maps:is_key(cl, Acc) of
        true -> {error, 400, <<"duplicate Content-Length">>};
        false -> scan(R, V, M, Acc#{cl => Val})
    end;
scan([{<<"transfer-encoding">>, Val} | R], V, M, Acc) ->
    case maps:is_key(te, Acc) of
        true -> {error, 501, <<"unsupported transfer coding">>};
        false -> scan(R, V, M, Acc#{te => Val})
    end;
scan([{<<"connection">>, Val} | R], V, M, Acc) ->
    Old = maps:get(conn, Acc, []),
    scan(R, V, M, Acc#{conn => tokens(Val, Old)});
scan([{<<"expect">>, Val} | R], V, M, Acc) ->
    scan(R, V, M, Acc#{expect => Val});
scan([_ | R], V, M, Acc) ->
    scan(R, V, M, Acc).

decide(Version, MaxBody, Acc) ->
    Conn = maps:get(conn, Acc, []),
    KeepAlive0 =
        case Version of
            {1, 1} -> not lists:member(<<"close">>, Conn);
            {1, 0} -> lists:member(<<"keep-alive">>, Conn) andalso not lists:member(<<"close">>, Conn)
        end,
    HasHost = maps:is_key(host, Acc),
    if
        Version =:= {1, 1}, not HasHost ->
            {error, 400, <<"missing Host header">>};
        true ->
            case framing(Acc, MaxBody) of
                {ok, Body} ->
                    %% A Transfer-Encoding in an HTTP/1.0 request: the framing is suspect, close after
                    %% responding (RFC 9112 section 6.1).
                    KeepAlive = KeepAlive0 andalso not (Body =:= chunked andalso Version =:= {1, 0}),
                    Expect = Version =:= {1, 1} andalso is_continue(maps:get(expect, Acc, <<>>)),
                    {ok, Body, KeepAlive, Expect};
                {error, _, _} = Err ->
                    Err
            end
    end.

framing(#{te := _, cl := _}, _Max) ->
    %% RFC 9112 section 6.3: both present is a smuggling vector; reject
    {error, 400, <<"both Content-Length and Transfer-Encoding">>};
framing(#{te := TE}, _Max) ->
    case ieq(TE, <<"chunked">>) of
        true -> {ok, chunked};
        false -> {error, 501, <<"unsupported transfer coding">>}
    end;
framing(#{cl := CL}, Max) ->
    case content_length(CL) of
        {ok, 0} -> {ok, none};
        {ok, N} when Max =/= infinity, N > Max -> {error, 413, <<"body too large">>};
        {ok, N} -> {ok, {length, N}};
        too_big -> {error, 413, <<"body too large">>};
        error -> {error, 400, <<"bad Content-Length">>}
    end;
framing(_, _Max) ->
    {ok, none}.

%% Content-Length = 1*DIGIT (RFC 9110 section 8.6)
content_length(<<>>) -> error;
content_length(B) when byte_size(B) > ?MAX_CL_DIGITS ->
    case all_digits(B) of
        true -> too_big;
        false -> error
    end;
content_length(B) ->
    case all_digits(B) of
        true -> {ok, binary_to_integer(B)};
        false -> error
    end.

all_digits(<<>>) -> true;
all_digits(<<C, R/binary>>) when C >= $0, C =< $9 -> all_digits(R);
all_digits(_) -> false.

is_continue(V) -> ieq(V, <<"100-continue">>).

%% @doc Case-insensitive equality of an input binary with a lower-case literal.
-spec ieq(binary(), binary()) -> boolean().
ieq(A, B) ->
    byte_size(A) =:= byte_size(B) andalso lower(A) =:= B.

%% Connection option tokens, lower-cased (only close and keep-alive matter; others are kept short).
tokens(Val, Acc) ->
    lists:foldl(
        fun(T, A) ->
            Tok = trim(T),
            case ieq(Tok, <<"close">>) of
                true ->
                    [<<"close">> | A];
                false ->
                    case ieq(Tok, <<"keep-alive">>) of
                        true -> [<<"keep-alive">> | A];
                        false -> A
                    end
            end
        end,
        Acc,
        binary:split(Val, <<",">>, [global])
    ).

%% ---------------------------------------------------------------------------------------------
%% Message body
%% ---------------------------------------------------------------------------------------------

%% @doc A body reader for the `body' of a head; MaxBody bounds the bytes delivered (413 beyond).
-spec body_init(none | {length, non_neg_integer()} | chunked, MaxBody :: non_neg_integer()) ->
    body_state().
body_init(none, _Max) -> {len, 0};
body_init({length, N}, Max) when N > Max -> {too_big, N};
body_init({length, N}, _Max) -> {len, N};
body_init(chunked, Max) -> {chunked, size, <<>>, 0, 0, Max}.

%% @doc Feeds bytes to a body reader.
-spec body(Data :: binary(), body_state()) ->
    {more, Chunk :: binary(), body_state()}
    | {done, Chunk :: binary(), Rest :: binary()}
    | {error, 400 | 413, Reason :: binary()}.
body(_Data, {too_big, _}) ->
    {error, 413, <<"body too large">>};
body(Data, {len, N}) ->
    case byte_size(Data) of
        S when S >= N ->
            {done, binary:part(Data, 0, N), binary:part(Data, N, S - N)};
        S ->
            {more, Data, {len, N - S}}
    end;
body(Data, {chunked, Phase, Buf, Seen, Trailer, Max}) ->
    In =
        case Buf of
            <<>> -> Data;
            _ -> <<Buf/binary, Data/binary>>
        end,
    chunked(Phase, In, Seen, Trailer, Max, []).

%% Acc holds the chunk data found in this call, reversed.
chunked(size, In, Seen, Tr, Max, Acc) ->
    case binary:match(In, <<"\n">>) of
        nomatch when byte_size(In) > ?MAX_CHUNK_LINE ->
            {error, 400, <<"chunk size line too long">>};
        nomatch ->
            {more, out(Acc), {chunked, size, In, Seen, Tr, Max}};
        {Pos, 1} when Pos > ?MAX_CHUNK_LINE ->
            {error, 400, <<"chunk size line too long">>};
        {Pos, 1} ->
            {Line, Rest} = line_at(In, Pos),
            case chunk_size(Line) of
                {ok, 0} ->
                    chunked(trailer, Rest, Seen, 0, Max, Acc);
                {ok, N} when Seen + N > Max ->
                    {error, 413, <<"body too large">>};
                {ok, N} ->
                    chunked({data, N}, Rest, Seen + N, Tr, Max, Acc);
                error ->
                    {error, 400, <<"bad chunk size">>}
            end
    end;
chunked({data, N}, In, Seen, Tr, Max, Acc) ->
    case byte_size(In) of
        S when S >= N ->
            Chunk = binary:part(In, 0, N),
            chunked(crlf, binary:part(In, N, S - N), Seen, Tr, Max, [Chunk | Acc]);
        S ->
            {more, out([In | Acc]), {chunked, {data, N - S}, <<>>, Seen, Tr, Max}}
    end;
chunked(crlf, In, Seen, Tr, Max, Acc) ->
    case In of
        <<"\r\n", Rest/binary>> -> chunked(size, Rest, Seen, Tr, Max, Acc);
        <<"\n", Rest/binary>> -> chunked(size, Rest, Seen, Tr, Max, Acc);
        _ when In =:= <<>>; In =:= <<"\r">> -> {more, out(Acc), {chunked, crlf, In, Seen, Tr, Max}};
        _ -> {error, 400, <<"missing CRLF after chunk data">>}
    end;
chunked(trailer, In, Seen, Tr, Max, Acc) ->
    %% trailer-section = *( field-line CRLF ) CRLF; fields are read and dropped (RFC 9112 section 7.1.2)
    case binary:match(In, <<"\n">>) of
        nomatch when Tr + byte_size(In) > ?MAX_TRAILER ->
            {error, 400, <<"trailer section too large">>};
        nomatch ->
            {more, out(Acc), {chunked, trailer, In, Seen, Tr, Max}};
        {Pos, 1} ->
            case line_at(In, Pos) of
                {<<>>, Rest} ->
                    {done, out(Acc), Rest};
                _ when Tr + Pos + 1 > ?MAX_TRAILER ->
                    {error, 400, <<"trailer section too large">>};
                {Field, Rest} ->
                    case field(Field) of
                        {ok, _} -> chunked(trailer, Rest, Seen, Tr + Pos + 1, Max, Acc);
                        {error, _, _} -> {error, 400, <<"bad trailer field">>}
                    end
            end
    end.

%% The line before the LF at Pos, without a CR before the LF, and the bytes after the LF.
line_at(In, Pos) ->
    <<Line:Pos/binary, _, Rest/binary>> = In,
    {strip_cr(Line), Rest}.

out([]) -> <<>>;
out([One]) -> One;
out(Acc) -> iolist_to_binary(lists:reverse(Acc)).

%% chunk-size [ chunk-ext ]; chunk-ext = *( BWS ";" BWS ext-name [ BWS "=" BWS ext-val ] ) — ignored.
chunk_size(Line) ->
    chunk_size(Line, 0, 0).

chunk_size(<<C, R/binary>> = B, N, Digits) ->
    case hexval(C) of
        %% 8 hex digits is 4 GiB, more than any bound the config can set
        V when is_integer(V), Digits < 8 -> chunk_size(R, N * 16 + V, Digits + 1);
        V when is_integer(V) -> error;
        error when Digits > 0 -> chunk_ext(B, N);
        error -> error
    end;
chunk_size(<<>>, N, Digits) when Digits > 0 ->
    {ok, N};
chunk_size(<<>>, _N, 0) ->
    error.

chunk_ext(<<C, _/binary>>, N) when C =:= $;; C =:= $\s; C =:= $\t -> {ok, N};
chunk_ext(_, _N) -> error.

%% @doc The value of one hex digit, or `error'.
-spec hexval(byte()) -> 0..15 | error.
hexval(C) when C >= $0, C =< $9 -> C - $0;
hexval(C) when C >= $a, C =< $f -> C - $a + 10;
hexval(C) when C >= $A, C =< $F -> C - $A + 10;
hexval(_) -> error.

%% ---------------------------------------------------------------------------------------------
%% Query strings and percent-encoding
%% ---------------------------------------------------------------------------------------------

%% @doc Splits an `application/x-www-form-urlencoded' query: pairs at `&', key and value at the first `=',
%% `+' is a space, `%XX' is decoded; a part whose percent-encoding is invalid is kept raw. Empty pairs are
%% skipped; a key without `=' has the value `<<>>'.
-spec decode_query(binary()) -> [{binary(), binary()}].
decode_query(<<>>) ->
    [];
decode_query(Qs) ->
    [pair(P) || P <- binary:split(Qs, <<"&">>, [global]), P =/= <<>>].

pair(P) ->
    case binary:split(P, <<"=">>) of
        [K, V] -> {form_decode(K), form_decode(V)};
        [K] -> {form_decode(K), <<>>}
    end.

form_decode(B) ->
    Spaced =
        case binary:match(B, <<"+">>) of
            nomatch -> B;
            _ -> binary:replace(B, <<"+">>, <<" ">>, [global])
        end,
    case percent_decode(Spaced) of
        {ok, D} -> D;
        error -> Spaced
    end.

%% @doc Decodes `%XX' escapes (RFC 3986 section 2.1); `error' on a `%' not followed by two hex digits.
-spec percent_decode(binary()) -> {ok, binary()} | error.
percent_decode(B) ->
    case binary:match(B, <<"%">>) of
        nomatch -> {ok, B};
        {Pos, 1} -> pct(B, Pos, [])
    end.

pct(B, Pos, Acc) ->
    case B of
        <<Pre:Pos/binary, $%, H, L, Rest/binary>> ->
            case {hexval(H), hexval(L)} of
                {Hi, Lo} when is_integer(Hi), is_integer(Lo) ->
                    Acc2 = [Hi * 16 + Lo, Pre | Acc],
                    case binary:match(Rest, <<"%">>) of
                        nomatch -> {ok, iolist_to_binary(lists:reverse(Acc2, [Rest]))};
                        {P2, 1} -> pct(Rest, P2, Acc2)
                    end;
                _ ->
                    error
            end;
        _ ->
            error
    end.
