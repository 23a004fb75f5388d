%% @doc Pure. Incremental HTTP/1.1 request-head and message-body parser over binaries.
%%
%% `request/2' takes the bytes read from a socket in any split (one byte at a time included) and returns
%% `{more, State}' until the whole head (request line + header section, RFC 9112 section 2.1) has been
%% seen, then `{request, Head, Rest}' with the bytes after the head. Every buffer is bounded by the config
%% map: `max_request_line' (414), `max_header_bytes' and `max_headers' (431), `max_body' (413 when a
%% Content-Length exceeds it). `body_init/2' + `body/2' then read a Content-Length or chunked body
%% (RFC 9112 section 7.1) without keeping it whole.
%%
%% The common case, a whole head in one binary, takes a few NIF calls (`whole/2'): two `binary:split/3'
%% find its end and its lines, one check finds any control byte in all of it at once, and every field
%% of the head is a sub-binary of the input.
%% Only functions AtomVM implements are called (see runtime_compat_tests); no atoms are made from input.
-module(httpd_parse).

-export([new/1, request/2, request_head/2, body_init/2, body/2, decode_query/1, percent_decode/1]).
%% Small binary helpers shared with the other modules (one copy on the device).
-export([trim/1, lower/1, ieq/2, hexval/1]).
-export_type([state/0, body_state/0, head/0]).

-include("httpd_head.hrl").

%% The bytes a header value may not hold (controls but HTAB, and DEL), and the upper-case letters,
%% as binary:match pattern lists.
-define(CTL, [
    <<0>>, <<1>>, <<2>>, <<3>>, <<4>>, <<5>>, <<6>>, <<7>>, <<8>>, <<10>>, <<11>>, <<12>>, <<13>>,
    <<14>>, <<15>>, <<16>>, <<17>>, <<18>>, <<19>>, <<20>>, <<21>>, <<22>>, <<23>>, <<24>>, <<25>>,
    <<26>>, <<27>>, <<28>>, <<29>>, <<30>>, <<31>>, <<127>>]).
-define(UPPER, [
    <<"A">>, <<"B">>, <<"C">>, <<"D">>, <<"E">>, <<"F">>, <<"G">>, <<"H">>, <<"I">>, <<"J">>,
    <<"K">>, <<"L">>, <<"M">>, <<"N">>, <<"O">>, <<"P">>, <<"Q">>, <<"R">>, <<"S">>, <<"T">>,
    <<"U">>, <<"V">>, <<"W">>, <<"X">>, <<"Y">>, <<"Z">>]).

%% The constants the request path uses, made once with the parser (new/1) and carried in its state.
%% On AtomVM every use of a compound literal (a binary, list or tuple written in the source, a literal
%% pattern included) decodes a fresh copy into a heap fragment, and a fragment forces a garbage
%% collection of the whole process at its next allocation; a term already on the heap costs nothing.
%% The frequent header names are here in lower case, for lower_name/2 to return.
-record(k, {
    empty = <<>>, global = [global], crlfcrlf = <<"\r\n\r\n">>, crlf = <<"\r\n">>, lf = <<"\n">>, sp = <<" ">>,
    colon = <<":">>, amp = <<"&">>, eq = <<"=">>, plus = <<"+">>, pct = <<"%">>, comma = <<",">>,
    close = <<"close">>, keep_alive = <<"keep-alive">>,
    %% the control-byte patterns for whole/2, set by new/1 (ctl_patterns/0); on AtomVM in the
    %% external term format: one off-heap binary that each collection passes over, where the
    %% 32-element list would be copied by every one
    ctl :: undefined | binary() | [binary()],
    host = <<"host">>, connection = <<"connection">>, content_length = <<"content-length">>,
    content_type = <<"content-type">>, transfer_encoding = <<"transfer-encoding">>,
    user_agent = <<"user-agent">>, accept = <<"accept">>, accept_encoding = <<"accept-encoding">>,
    accept_language = <<"accept-language">>, upgrade = <<"upgrade">>, origin = <<"origin">>,
    sec_websocket_key = <<"sec-websocket-key">>, sec_websocket_version = <<"sec-websocket-version">>
}).

-record(p, {
    %% bytes of an incomplete line carried over from the previous call (an atom when none: matching
    %% an atom loads nothing)
    buf = none :: none | binary(),
    %% empty lines skipped before the request line (RFC 9112 section 2.2)
    empties = 0 :: non_neg_integer(),
    %% undefined until the request line has been read
    line :: undefined | {binary(), binary(), {1, 0 | 1}},
    hdrs = [] :: [{binary(), binary()}],
    nhdrs = 0 :: non_neg_integer(),
    hbytes = 0 :: non_neg_integer(),
    max_line :: pos_integer(),
    max_hbytes :: pos_integer(),
    max_headers :: pos_integer(),
    max_body :: non_neg_integer() | infinity,
    k = #k{} :: #k{}
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
%% left), crlf (the CRLF after chunk data), trailer (trailer field lines after the last chunk, Used bytes
%% so far); then the bytes of an incomplete line and the body bytes still allowed (max_body minus seen).
-opaque body_state() ::
    {len, non_neg_integer()}
    | {too_big, non_neg_integer()}
    | {chunked, size | {data, non_neg_integer()} | crlf | {trailer, non_neg_integer()}, binary(),
        non_neg_integer()}.

%% Leading empty lines tolerated before a request line (RFC 9112 section 2.2 asks for at least one).
-define(MAX_EMPTIES, 8).
%% A chunk-size line with its extensions (RFC 9112 section 7.1.1) is at most this long.
-define(MAX_CHUNK_LINE, 256).
%% Trailer section after the last chunk (RFC 9112 section 7.1.2) is at most this many bytes.
-define(MAX_TRAILER, 4096).
%% Content-Length digits accepted before the value is called too large (keeps integers small on AtomVM).
-define(MAX_CL_DIGITS, 15).
%% Errors are thrown from deep inside the parser and caught once in request/2 and body/2: no
%% `{error, _, _} = Err -> Err' clause at every level.
-define(FAIL(Status, Reason), throw({error, Status, Reason})).
-define(E414, ?FAIL(414, <<"request line too long">>)).
-define(E413, ?FAIL(413, <<"body too large">>)).

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
        max_body = maps:get(max_body, Limits, infinity),
        k = #k{ctl = ctl_patterns()}
    }.

%% @doc Feeds bytes to the parser.
-spec request(Data :: binary(), state()) ->
    {more, state()} | {request, head(), Rest :: binary()} | {error, status(), Reason :: binary()}.
request(Data, P) ->
    case request_head(Data, P) of
        {request, H, Rest} ->
            {request, #{method => H#head.method, raw_path => H#head.raw_path, path => H#head.path,
                        qs => H#head.qs, query => H#head.query, version => H#head.version,
                        headers => H#head.headers, body => H#head.body, keepalive => H#head.keepalive,
                        expect_continue => H#head.expect_continue}, Rest};
        Other ->
            Other
    end.

%% @doc `request/2' with the head as a `#head{}' record (httpd_head.hrl), which httpd_conn turns into
%% its request map in one step.
-spec request_head(Data :: binary(), state()) ->
    {more, state()} | {request, #head{}, Rest :: binary()} | {error, status(), Reason :: binary()}.
request_head(Data, #p{buf = none, line = undefined, empties = 0} = P) ->
    try
        whole(Data, P)
    catch
        throw:{error, _, _} = Err -> Err
    end;
request_head(Data, #p{buf = Buf} = P) ->
    try
        lines(join(Buf, Data), P)
    catch
        throw:{error, _, _} = Err -> Err
    end.

%% The common case, a whole head in the first read: one split finds its end and one more its lines,
%% instead of a search, a sub-binary and a state update per line (each costs on the interpreter).
%% Here every line ends in CRLF. Anything unusual (an incomplete head, an empty line before the
%% request line, a bare CR or LF, any control byte) goes line by line, which gives the same answer;
%% the checks here are those of line/4, in the same order.
whole(Data, P = #p{k = #k{crlfcrlf = End, crlf = CRLF, global = Global, empty = Empty, ctl = Ctl}}) ->
    case binary:split(Data, End) of
        [<<C, _/binary>> = Head, Rest] when C =/= $\r, C =/= $\n ->
            %% Without its CRLFs, a clean head has no control byte at all: no bare CR or LF, nothing a
            %% field value may not hold. Two calls check every line at once; a head that fails goes
            %% line by line, for the precise answer.
            case binary:match(binary:replace(Head, CRLF, Empty, Global), ctl_list(Ctl)) of
                nomatch -> whole_lines(binary:split(Head, CRLF, Global), Rest, P);
                _ -> lines(Data, P)
            end;
        _ ->
            lines(Data, P)
    end.

ctl_patterns() ->
    case erlang:system_info(machine) of
        "BEAM" -> ?CTL;
        _ -> term_to_binary(?CTL)
    end.

ctl_list(Etf) when is_binary(Etf) -> binary_to_term(Etf);
ctl_list(List) -> List.

%% Lines of a clean head (see whole/2), each without its CRLF.
whole_lines([Line | Fields], Rest, #p{max_line = Max, k = K} = P) ->
    byte_size(Line) =< Max orelse ?E414,
    RequestLine = request_line(Line, K),
    Headers = whole_fields(Fields, 0, 0, P),
    head(Rest, RequestLine, Headers, P#p.max_body, K).

whole_fields([Line | More], N, Used, #p{max_hbytes = MaxBytes, max_headers = MaxN, k = K} = P) ->
    Raw = byte_size(Line) + 2,
    Used + Raw =< MaxBytes orelse ?FAIL(431, <<"header section too large">>),
    N < MaxN orelse ?FAIL(431, <<"too many header fields">>),
    Field = clean_field(Line, K),
    [Field | whole_fields(More, N + 1, Used + Raw, P)];
whole_fields([], _N, _Used, _P) ->
    [].

%% Carried-over bytes followed by new ones; no copy when nothing was carried over.
join(none, Data) -> Data;
join(Buf, Data) when byte_size(Buf) =:= 0 -> Data;
join(Buf, Data) -> <<Buf/binary, Data/binary>>.

lines(Bin, P = #p{k = #k{lf = LF}}) ->
    case binary:match(Bin, LF) of
        nomatch ->
            partial(Bin, P);
        {Pos, _} ->
            {Line, Rest} = line_at(Bin, Pos),
            line(Line, Pos + 1, Rest, P)
    end.

%% The line before the LF at Pos, without a CR before the LF (RFC 9112 section 2.2 lets a recipient
%% accept a bare LF), and the bytes after the LF.
line_at(In, Pos) ->
    L = Pos - 1,
    case In of
        <<Line:L/binary, "\r\n", Rest/binary>> -> {Line, Rest};
        <<Line:Pos/binary, _, Rest/binary>> -> {Line, Rest}
    end.

%% An incomplete line: keep it, unless it is already past its bound (one byte of slack for a CR; a
%% lone CR may start the empty line that ends the head, which does not count).
partial(Bin, #p{line = undefined, max_line = Max}) when byte_size(Bin) > Max + 1 ->
    ?E414;
partial(Bin, #p{line = {_, _, _}, hbytes = Used, max_hbytes = Max}) when
    Bin =/= <<"\r">>, Used + byte_size(Bin) > Max
->
    ?FAIL(431, <<"header section too large">>);
partial(Bin, P) ->
    {more, P#p{buf = Bin}}.

%% One complete line (terminator removed); Raw is its size with the terminator.
line(Line, _Raw, Rest, #p{line = undefined, empties = E} = P) when byte_size(Line) =:= 0 ->
    E < ?MAX_EMPTIES orelse ?FAIL(400, <<"too many empty lines before request">>),
    lines(Rest, P#p{empties = E + 1});
line(Line, _Raw, _Rest, #p{line = undefined, max_line = Max}) when byte_size(Line) > Max ->
    ?E414;
line(Line, _Raw, Rest, #p{line = undefined, k = K} = P) ->
    lines(Rest, P#p{line = request_line(Line, K)});
line(Line, _Raw, Rest, P) when byte_size(Line) =:= 0 ->
    finish(Rest, P);
line(Line, Raw, Rest, #p{hdrs = Hs, nhdrs = N, hbytes = Used} = P) ->
    Used + Raw =< P#p.max_hbytes orelse ?FAIL(431, <<"header section too large">>),
    N < P#p.max_headers orelse ?FAIL(431, <<"too many header fields">>),
    lines(Rest, P#p{hdrs = [field(Line, P#p.k) | Hs], nhdrs = N + 1, hbytes = Used + Raw}).

%% request-line = method SP request-target SP HTTP-version (RFC 9112 section 3). Checked in this
%% order: method token (400), version (505/400), known method (501), target (400).
request_line(Line, K = #k{sp = SP, global = Global}) ->
    case binary:split(Line, SP, Global) of
        [Method, Target, Version] ->
            %% every known method is a token, so the token scan runs only for the others
            Known = known_method(Method),
            Known orelse (byte_size(Method) > 0 andalso lower_token(Method, Method, 0, K) =/= error) orelse
                ?FAIL(400, <<"bad method">>),
            V = version(Version),
            Known orelse ?FAIL(501, <<"method not implemented">>),
            %% (an empty target is refused by target/2)
            Shape = shape(Target, 0, none, 0),
            Shape =/= error orelse ?FAIL(400, <<"bad request target">>),
            {Method, {Target, Shape}, V};
        _ ->
            ?FAIL(400, <<"malformed request line">>)
    end.

known_method(<<"GET">>) -> true;
known_method(<<"HEAD">>) -> true;
known_method(<<"POST">>) -> true;
known_method(<<"PUT">>) -> true;
known_method(<<"DELETE">>) -> true;
known_method(<<"PATCH">>) -> true;
known_method(<<"OPTIONS">>) -> true;
known_method(_) -> false.

%% HTTP-version = "HTTP/" DIGIT "." DIGIT, case-sensitive (RFC 9112 section 2.3)
version(<<"HTTP/", A, ".", B>>) when A >= $0, A =< $9, B >= $0, B =< $9 ->
    A =:= $1 andalso B =< $1 orelse ?FAIL(505, <<"HTTP version not supported">>),
    {1, B - $0};
version(_) ->
    ?FAIL(400, <<"bad HTTP version">>).

%% request-target: visible ASCII only, no '#' (RFC 9112 section 3.2; fragments are never sent). The same
%% pass notes where the query starts and whether the path holds a '%', so the common target needs no
%% further scan: `{QueryPos | none, HasPercent}', or `error'. HasPercent is 0 or 1, not a boolean: on
%% AtomVM a test that finds `false' where it looks for `true' compares the two atoms by name.
shape(<<C, R/binary>>, I, Q, Pct) when C > 16#20, C < 16#7F, C =/= $# ->
    if
        Q =/= none -> shape(R, I + 1, Q, Pct);
        C =:= $? -> shape(R, I + 1, I, Pct);
        C =:= $% -> shape(R, I + 1, Q, 1);
        true -> shape(R, I + 1, Q, Pct)
    end;
shape(<<>>, _I, Q, Pct) -> {Q, Pct};
shape(_, _I, _Q, _Pct) -> error.


%% field-line = field-name ":" OWS field-value OWS (RFC 9112 section 5)
field(Line, K) ->
    {_, Value} = Field = clean_field(Line, K),
    %% field-value: VCHAR, obs-text, SP and HTAB; any other control byte (NUL, CR, DEL, ...) is
    %% refused (RFC 9110 section 5.5). One binary:match over them, not a byte loop.
    binary:match(Value, ?CTL) =:= nomatch orelse ?FAIL(400, <<"bad character in header value">>),
    Field.

%% A field line known to hold no control byte (whole/2 checked the head it came from).
clean_field(<<C, _/binary>>, _K) when C =:= $\s; C =:= $\t ->
    %% obs-fold: RFC 9112 section 5.2 lets a server reject it with 400
    ?FAIL(400, <<"obsolete line folding">>);
clean_field(Line, K = #k{colon = Colon}) ->
    case binary:split(Line, Colon) of
        [Name, _] when byte_size(Name) =:= 0 ->
            ?FAIL(400, <<"empty header name">>);
        [Name, Value] ->
            %% whitespace before the colon is not a tchar: rejected with 400 (RFC 9112 section 5.1)
            LName = lower_name(Name, K),
            LName =/= error orelse ?FAIL(400, <<"bad header name">>),
            {LName, trim(Value)};
        _ ->
            ?FAIL(400, <<"header field without colon">>)
    end.

%% Frequent names in their usual spelling map to their lower-case spelling in the constants, without
%% building a binary; lower-case names are returned as they are. (Several binary clauses compile to
%% a match of the bytes, which loads no literal; the returned names are on the heap already.)
lower_name(<<"Host">>, K) -> K#k.host;
lower_name(<<"Connection">>, K) -> K#k.connection;
lower_name(<<"Content-Length">>, K) -> K#k.content_length;
lower_name(<<"Content-Type">>, K) -> K#k.content_type;
lower_name(<<"Transfer-Encoding">>, K) -> K#k.transfer_encoding;
lower_name(<<"User-Agent">>, K) -> K#k.user_agent;
lower_name(<<"Accept">>, K) -> K#k.accept;
lower_name(<<"Accept-Encoding">>, K) -> K#k.accept_encoding;
lower_name(<<"Accept-Language">>, K) -> K#k.accept_language;
lower_name(<<"Upgrade">>, K) -> K#k.upgrade;
lower_name(<<"Origin">>, K) -> K#k.origin;
lower_name(<<"Sec-WebSocket-Key">>, K) -> K#k.sec_websocket_key;
lower_name(<<"Sec-WebSocket-Version">>, K) -> K#k.sec_websocket_version;
lower_name(Name, K) -> lower_token(Name, Name, 0, K).

%% Validates a token; returns it as is when it has no upper case letter, else a lower-cased copy;
%% `error' when it is not a token.
lower_token(<<C, R/binary>>, Name, U, K) when C >= $a, C =< $z; C =:= $-; C >= $0, C =< $9 ->
    %% '-' among the first: the most frequent tchar in header names after letters
    lower_token(R, Name, U, K);
lower_token(<<C, R/binary>>, Name, U, K) when C >= $A, C =< $Z ->
    lower_token(R, Name, U + 1, K);
lower_token(<<C, R/binary>>, Name, U, K) ->
    %% the other tchars (RFC 9110 section 5.6.2)
    case lists:member(C, "!#$%&'*+.^_`|~") of
        true -> lower_token(R, Name, U, K);
        false -> error
    end;
lower_token(_End, Name, 0, _K) ->
    Name;
lower_token(_End, Name, _Upper, _K) ->
    lower_ascii(Name).

%% @doc ASCII lower case of a binary (header names, tokens); other bytes are kept.
%% Most input is lower case already: one binary:match (a NIF) finds that, and only a binary with an
%% upper-case letter is rebuilt byte by byte (on AtomVM a byte loop costs ~0.2 us a byte).
-spec lower(binary()) -> binary().
lower(B) ->
    case binary:match(B, ?UPPER) of
        nomatch -> B;
        _ -> lower_ascii(B)
    end.

%% lower/1 for a short binary: a scan for an upper-case letter, without the pattern list (a literal).
lower_scan(B) ->
    case has_upper(B) of
        false -> B;
        true -> lower_ascii(B)
    end.

has_upper(<<C, _/binary>>) when C >= $A, C =< $Z -> true;
has_upper(<<_, R/binary>>) -> has_upper(R);
has_upper(_) -> false.

lower_ascii(B) ->
    << <<(if C >= $A, C =< $Z -> C + 32; true -> C end)>> || <<C>> <= B >>.

%% @doc Removes leading and trailing spaces and tabs (OWS, RFC 9110 section 5.6.3).
-spec trim(binary()) -> binary().
trim(<<C, R/binary>>) when C =:= $\s; C =:= $\t -> trim(R);
trim(B) -> trim_right(B).

trim_right(B) ->
    S = byte_size(B) - 1,
    case B of
        <<R:S/binary, C>> when C =:= $\s; C =:= $\t -> trim_right(R);
        _ -> B
    end.

%% The empty line ending the header section has been read: interpret the head.
finish(Rest, #p{line = Line, hdrs = RevHdrs, max_body = Max, k = K}) ->
    head(Rest, Line, lists:reverse(RevHdrs), Max, K).

head(Rest, {Method, {Target, Shape}, Version = {1, Minor}}, Headers, Max, K) ->
    {Raw, Path, Qs} = target(Method, Target, Shape, K),
    %% framing and connection semantics (RFC 9112 sections 6, 9.3; RFC 9110 10.1.1)
    {Host, CL, TE, Conn, Expect} = scan(Headers, none, none, none, [], none, K),
    V11 = Minor =:= 1,
    Host =/= none orelse Minor =:= 0 orelse ?FAIL(400, <<"missing Host header">>),
    Body = framing(TE, CL, Max),
    {request, #head{
        method = Method,
        raw_path = Raw,
        path = Path,
        qs = Qs,
        query = decode_query(Qs, K),
        version = Version,
        headers = Headers,
        body = Body,
        keepalive = keepalive(Conn, V11, Body, K),
        expect_continue = expect_continue(Expect, Minor)
    }, Rest}.

%% (Clauses, not `V11 andalso Expect =/= none andalso ...': on AtomVM testing a `false' against
%% `true' compares the atoms by name.)
expect_continue(none, _Minor) -> false;
expect_continue(Expect, 1) -> ieq(Expect, <<"100-continue">>);
expect_continue(_Expect, _Minor) -> false.

%% HTTP/1.0 keeps the connection only when asked to; a Transfer-Encoding in an HTTP/1.0 request
%% makes the framing suspect: close after responding (RFC 9112 section 6.1).
keepalive([], V11, _Body, _K) ->
    V11;
keepalive(Conn, V11, Body, #k{close = Close, keep_alive = KeepAlive}) ->
    not lists:member(Close, Conn) andalso
        (V11 orelse (Body =/= chunked andalso lists:member(KeepAlive, Conn))).

%% origin-form, absolute-form and asterisk-form (RFC 9112 section 3.2). Returns the target in origin-form
%% (raw), the decoded path and the raw query.
target(_Method, <<"/", _/binary>> = T, Shape, K) ->
    path_qs(T, Shape, K);
target(<<"OPTIONS">>, <<"*">> = T, _Shape, K) ->
    {T, T, K#k.empty};
target(_Method, T, _Shape, K) ->
    %% absolute-form: a server MUST accept it (RFC 9112 section 3.2.2); the authority (up to the first
    %% `/' or `?', not empty) is not used for routing
    case binary:split(T, <<"://">>) of
        [Scheme, R] when Scheme =:= <<"http">>; Scheme =:= <<"https">> ->
            case after_authority(R) of
                %% an empty authority
                R -> ?FAIL(400, <<"bad request target">>);
                <<"/", _/binary>> = PathQs -> path_qs(PathQs, rescan, K);
                %% nothing or only a query after the authority
                Qs -> path_qs(<<"/", Qs/binary>>, rescan, K)
            end;
        _ ->
            ?FAIL(400, <<"bad request target">>)
    end.

after_authority(<<C, _/binary>> = B) when C =:= $/; C =:= $? -> B;
after_authority(<<_, R/binary>>) -> after_authority(R);
after_authority(<<>>) -> <<>>.

%% Without a '%' in the path the raw path is the path (and has no NUL: shape/4 refused control bytes).
path_qs(T, {none, 0}, K) ->
    {T, T, K#k.empty};
path_qs(T, {Q, 0}, _K) ->
    <<Raw:Q/binary, "?", Qs/binary>> = T,
    {T, Raw, Qs};
path_qs(T, _Shape, K) ->
    [RawPath | Q] = binary:split(T, <<"?">>),
    Qs = case Q of [] -> <<>>; [Q1] -> Q1 end,
    case percent_decode(RawPath, K) of
        {ok, Path} ->
            %% the raw path has no NUL (it passed shape/4), a decoded one may
            binary:match(Path, <<0>>) =:= nomatch orelse ?FAIL(400, <<"NUL in path">>),
            {T, Path, Qs};
        error ->
            ?FAIL(400, <<"bad percent-encoding in path">>)
    end.

%% The fields that decide framing and the connection, by name, into
%% `{Host, ContentLength, TransferEncoding, ConnectionTokens, Expect}' (`none' when absent; a tuple,
%% not a map: no key sorting). Host, Content-Length and Transfer-Encoding may appear once (RFC 9112
%% sections 3.2, 6.3); Connection options add up, lower-cased; the last Expect counts.
scan([], H, CL, TE, C, E, _K) ->
    {H, CL, TE, C, E};
scan([{<<"host">>, V} | R], none, CL, TE, C, E, K) ->
    scan(R, V, CL, TE, C, E, K);
scan([{<<"host">>, _} | _], _, _, _, _, _, _K) ->
    ?FAIL(400, <<"duplicate Host header">>);
scan([{<<"content-length">>, V} | R], H, none, TE, C, E, K) ->
    scan(R, H, V, TE, C, E, K);
scan([{<<"content-length">>, _} | _], _, _, _, _, _, _K) ->
    ?FAIL(400, <<"duplicate Content-Length">>);
scan([{<<"transfer-encoding">>, V} | R], H, CL, none, C, E, K) ->
    scan(R, H, CL, V, C, E, K);
scan([{<<"transfer-encoding">>, _} | _], _, _, _, _, _, _K) ->
    ?FAIL(501, <<"unsupported transfer coding">>);
scan([{<<"connection">>, Val} | R], H, CL, TE, C, E, K = #k{comma = Comma, global = Global}) ->
    Tokens = [lower_scan(trim(T)) || T <- binary:split(Val, Comma, Global)],
    scan(R, H, CL, TE, Tokens ++ C, E, K);
scan([{<<"expect">>, V} | R], H, CL, TE, C, _, K) ->
    scan(R, H, CL, TE, C, V, K);
scan([_ | R], H, CL, TE, C, E, K) ->
    scan(R, H, CL, TE, C, E, K).

framing(TE, CL, _Max) when TE =/= none, CL =/= none ->
    %% RFC 9112 section 6.3: both present is a smuggling vector; reject
    ?FAIL(400, <<"both Content-Length and Transfer-Encoding">>);
framing(none, none, _Max) ->
    none;
framing(none, CL, Max) ->
    %% Content-Length = 1*DIGIT (RFC 9110 section 8.6)
    all_digits(CL) orelse ?FAIL(400, <<"bad Content-Length">>),
    %% any integer is below `infinity' in term order
    case byte_size(CL) > ?MAX_CL_DIGITS orelse binary_to_integer(CL) of
        0 -> none;
        N when is_integer(N), N =< Max -> {length, N};
        _ -> ?E413
    end;
framing(TE, none, _Max) ->
    ieq(TE, <<"chunked">>) orelse ?FAIL(501, <<"unsupported transfer coding">>),
    chunked.

%% one or more
all_digits(<<C, R/binary>>) when C >= $0, C =< $9 -> byte_size(R) =:= 0 orelse all_digits(R);
all_digits(_) -> false.

%% @doc Case-insensitive equality of an input binary with a lower-case one (both short: a scan, not
%% lower/1's pattern list, which on AtomVM is a literal copied at every call).
-spec ieq(binary(), binary()) -> boolean().
ieq(A, B) when byte_size(A) =:= byte_size(B) -> lower_scan(A) =:= B;
ieq(_A, _B) -> false.

%% ---------------------------------------------------------------------------------------------
%% Message body
%% ---------------------------------------------------------------------------------------------

%% @doc A body reader for the `body' of a head; MaxBody bounds the bytes delivered (413 beyond).
-spec body_init(none | {length, non_neg_integer()} | chunked, MaxBody :: non_neg_integer()) ->
    body_state().
body_init(none, _Max) -> {len, 0};
body_init({length, N}, Max) when N > Max -> {too_big, N};
body_init({length, N}, _Max) -> {len, N};
body_init(chunked, Max) -> {chunked, size, <<>>, Max}.

%% @doc Feeds bytes to a body reader.
-spec body(Data :: binary(), body_state()) ->
    {more, Chunk :: binary(), body_state()}
    | {done, Chunk :: binary(), Rest :: binary()}
    | {error, 400 | 413, Reason :: binary()}.
body(_Data, {too_big, _}) ->
    {error, 413, <<"body too large">>};
body(Data, {len, N}) ->
    case Data of
        <<Chunk:N/binary, Rest/binary>> -> {done, Chunk, Rest};
        _ -> {more, Data, {len, N - byte_size(Data)}}
    end;
body(Data, {chunked, Phase, Buf, Left}) ->
    try
        chunked(Phase, join(Buf, Data), Left, [])
    catch
        throw:{error, _, _} = Err -> Err
    end.

%% Left: the body bytes still allowed; Acc holds the chunk data found in this call, reversed.
chunked(size, In, Left, Acc) ->
    case binary:match(In, <<"\n">>) of
        {Pos, _} when Pos =< ?MAX_CHUNK_LINE ->
            {Line, Rest} = line_at(In, Pos),
            case chunk_size(Line, 0, 0) of
                0 -> chunked({trailer, 0}, Rest, Left, Acc);
                N when N > Left -> ?E413;
                N -> chunked({data, N}, Rest, Left - N, Acc)
            end;
        nomatch when byte_size(In) =< ?MAX_CHUNK_LINE ->
            more(size, In, Left, Acc);
        _ ->
            ?FAIL(400, <<"chunk size line too long">>)
    end;
chunked({data, N}, In, Left, Acc) ->
    case In of
        <<Chunk:N/binary, Rest/binary>> -> chunked(crlf, Rest, Left, [Chunk | Acc]);
        _ -> more({data, N - byte_size(In)}, <<>>, Left, [In | Acc])
    end;
chunked(crlf, In, Left, Acc) ->
    case In of
        <<"\r\n", Rest/binary>> -> chunked(size, Rest, Left, Acc);
        <<"\n", Rest/binary>> -> chunked(size, Rest, Left, Acc);
        _ when In =:= <<>>; In =:= <<"\r">> -> more(crlf, In, Left, Acc);
        _ -> ?FAIL(400, <<"missing CRLF after chunk data">>)
    end;
chunked({trailer, Used}, In, Left, Acc) ->
    %% trailer-section = *( field-line CRLF ) CRLF; fields are read and dropped (RFC 9112 section 7.1.2)
    case binary:match(In, <<"\n">>) of
        nomatch when Used + byte_size(In) =< ?MAX_TRAILER ->
            more({trailer, Used}, In, Left, Acc);
        {Pos, _} ->
            case line_at(In, Pos) of
                {<<>>, Rest} ->
                    {done, out(Acc), Rest};
                {Field, Rest} when Used + Pos < ?MAX_TRAILER ->
                    try field(Field, #k{}) of
                        _ -> chunked({trailer, Used + Pos + 1}, Rest, Left, Acc)
                    catch
                        throw:_ -> ?FAIL(400, <<"bad trailer field">>)
                    end;
                _ ->
                    ?FAIL(400, <<"trailer section too large">>)
            end;
        nomatch ->
            ?FAIL(400, <<"trailer section too large">>)
    end.

more(Phase, In, Left, Acc) ->
    {more, out(Acc), {chunked, Phase, In, Left}}.

out([]) -> <<>>;
out([One]) -> One;
out(Acc) -> iolist_to_binary(lists:reverse(Acc)).

%% chunk-size [ chunk-ext ]; chunk-ext = *( BWS ";" BWS ext-name [ BWS "=" BWS ext-val ] ) — ignored.
%% At most 8 hex digits: 4 GiB, more than any bound the config can set.
chunk_size(<<C, R/binary>>, N, Digits) ->
    case hexval(C) of
        V when is_integer(V), Digits < 8 -> chunk_size(R, N * 16 + V, Digits + 1);
        error when Digits > 0, (C =:= $; orelse C =:= $\s orelse C =:= $\t) -> N;
        _ -> ?FAIL(400, <<"bad chunk size">>)
    end;
chunk_size(<<>>, N, Digits) when Digits > 0 ->
    N;
chunk_size(_, _N, _Digits) ->
    ?FAIL(400, <<"bad chunk size">>).

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
decode_query(Qs) ->
    decode_query(Qs, #k{}).

decode_query(Qs, _K) when byte_size(Qs) =:= 0 ->
    %% (a guard, not a `<<>>' pattern: that would load a literal on AtomVM)
    [];
decode_query(Qs, K = #k{amp = Amp, eq = Eq, global = Global, empty = Empty}) ->
    [
        case binary:split(P, Eq) of
            [Key, V] -> {form_decode(Key, K), form_decode(V, K)};
            [Key] -> {form_decode(Key, K), Empty}
        end
     || P <- binary:split(Qs, Amp, Global), byte_size(P) > 0
    ].

form_decode(B, K = #k{plus = Plus}) ->
    Spaced =
        case binary:match(B, Plus) of
            nomatch -> B;
            _ -> binary:replace(B, Plus, K#k.sp, K#k.global)
        end,
    case percent_decode(Spaced, K) of
        {ok, D} -> D;
        error -> Spaced
    end.

%% @doc Decodes `%XX' escapes (RFC 3986 section 2.1); `error' on a `%' not followed by two hex digits.
%% Without any `%' the input itself is returned (no copy).
-spec percent_decode(binary()) -> {ok, binary()} | error.
percent_decode(B) -> percent_decode(B, #k{}).

percent_decode(B, #k{pct = Pct}) -> pct(B, Pct, []).

pct(B, Pct, Acc) ->
    case binary:split(B, Pct) of
        [_] when Acc =:= [] ->
            {ok, B};
        [_] ->
            {ok, iolist_to_binary(lists:reverse(Acc, [B]))};
        [Pre, <<H, L, Rest/binary>>] ->
            case {hexval(H), hexval(L)} of
                {Hi, Lo} when is_integer(Hi), is_integer(Lo) -> pct(Rest, Pct, [Hi * 16 + Lo, Pre | Acc]);
                _ -> error
            end;
        _ ->
            error
    end.
