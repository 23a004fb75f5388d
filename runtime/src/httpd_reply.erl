%% @doc Pure. HTTP/1.1 response serialization to iodata (RFC 9112 sections 4, 6 and 7.1).
%%
%% Headers are `[{Name :: binary(), Value :: iodata()}]' and written as given (names keep their case).
%% `response/4' adds `content-length' unless the handler set one or a transfer-encoding (never for 1xx,
%% 204 and 304 responses, RFC 9110 section 8.6) and the `connection' field the keep-alive decision
%% needs. A header name or value containing CR or LF raises `{invalid_header, Name}' instead of
%% splitting the response. No `date' field is added: devices usually have no clock (RFC 9110 section
%% 6.6.1 asks for it only from servers that have one).
-module(httpd_reply).

-export([response/4, chunked_head/3, chunk/1, last_chunk/0, error_response/2, reason_phrase/1]).
-export([opts/0, opts/4]).
-export_type([status/0, headers/0, opts/0, prepared/0]).

-type status() :: 100..999.
-type headers() :: [{binary(), iodata()}].
-type opts() :: #{version => {1, 0} | {1, 1}, keepalive => boolean(), head => boolean()} | prepared().

%% The options as a record, with the constants a response is made of. On AtomVM every use of a
%% compound literal (`<<"\r\n">>' included) copies it into a heap fragment, which forces a garbage
%% collection of the process at its next allocation; a connection makes this record once (opts/0) and
%% sets the options per response (opts/4), so a response's pieces are already on its heap.
-record(ro, {
    version = {1, 1} :: {1, 0} | {1, 1},
    keepalive = true :: boolean(),
    head = false :: boolean(),
    status_200 = <<"HTTP/1.1 200 OK\r\n">> :: binary(),
    crlf = <<"\r\n">> :: binary(),
    colon_sp = <<": ">> :: binary(),
    content_length = <<"content-length: ">> :: binary(),
    close = <<"connection: close\r\n">> :: binary(),
    keep_alive = <<"connection: keep-alive\r\n">> :: binary(),
    line_ends = [<<"\n">>, <<"\r">>] :: [binary()],
    content_length_name = <<"content-length">> :: binary(),
    transfer_encoding_name = <<"transfer-encoding">> :: binary()
}).
-opaque prepared() :: #ro{}.

%% @doc Options for `response/4' made once, to be set per response with `opts/4'.
-spec opts() -> prepared().
opts() ->
    #ro{}.

%% @doc Prepared options with the request's version, the keep-alive decision and whether the request was
%% a HEAD (the response then leaves its body out).
-spec opts({1, 0} | {1, 1}, boolean(), boolean(), prepared()) -> prepared().
opts(Version, KeepAlive, Head, Ro = #ro{}) ->
    Ro#ro{version = Version, keepalive = KeepAlive, head = Head}.

%% @doc A whole response. `head => true' (a HEAD request) leaves the body out but keeps its length;
%% `keepalive => false' adds `connection: close'; an HTTP/1.0 client that keeps the connection gets
%% `connection: keep-alive'.
-spec response(status(), headers(), Body :: iodata(), opts()) -> iodata().
response(Status, Headers, Body, Ro = #ro{}) ->
    {Fields, Framed} = fields(Headers, [], false, Ro),
    [status_line(Status, Ro), Fields, length_field(Framed, Status, Body, Ro), connection(Ro), Ro#ro.crlf
     | content(Status, Body, Ro)];
response(Status, Headers, Body, Opts) ->
    response(Status, Headers, Body, from_map(Opts)).

from_map(Opts) ->
    #ro{version = maps:get(version, Opts, {1, 1}), keepalive = maps:get(keepalive, Opts, true),
        head = maps:get(head, Opts, false)}.

%% @doc The head of a streamed response. HTTP/1.1: `transfer-encoding: chunked', then send `chunk/1'
%% pieces and `last_chunk/0'. HTTP/1.0 clients cannot read chunked framing (RFC 9112 section 7.1):
%% they get no transfer coding and `connection: close', and the caller sends the raw body and closes.
-spec chunked_head(status(), headers(), opts()) -> iodata().
chunked_head(Status, Headers, Ro = #ro{}) ->
    {Fields, _} = fields(Headers, [], false, Ro),
    {TE, Conn} =
        case Ro#ro.version of
            {_, 0} -> {[], Ro#ro.close};
            _ -> {<<"transfer-encoding: chunked\r\n">>, connection(Ro)}
        end,
    [status_line(Status, Ro), Fields, TE, Conn, Ro#ro.crlf];
chunked_head(Status, Headers, Opts) ->
    chunked_head(Status, Headers, from_map(Opts)).

%% @doc One chunk: `chunk-size CRLF chunk-data CRLF' (RFC 9112 section 7.1). Empty data gives `<<>>',
%% since a zero-size chunk would end the body early.
-spec chunk(iodata()) -> iodata().
chunk(Data) ->
    case iolist_size(Data) of
        0 -> <<>>;
        N -> [integer_to_binary(N, 16), <<"\r\n">>, Data, <<"\r\n">>]
    end.

%% @doc The last chunk with an empty trailer section.
-spec last_chunk() -> binary().
last_chunk() ->
    <<"0\r\n\r\n">>.

%% @doc A short error response: the reason as a one-line text/plain body, and the connection closed.
-spec error_response(status(), Reason :: binary()) -> iodata().
error_response(Status, Reason) ->
    Body = [Reason, <<"\n">>],
    [
        status_line(Status, #ro{}),
        <<"content-type: text/plain\r\ncontent-length: ">>,
        integer_to_binary(iolist_size(Body)),
        <<"\r\nconnection: close\r\n\r\n">>
        | Body
    ].

%% @doc The reason phrase of a status code (RFC 9110 section 15); `<<>>' for codes it does not name.
-spec reason_phrase(status()) -> binary().
reason_phrase(S) when is_integer(S), S >= 100, S =< 999 ->
    %% clauses, not a list to search: on AtomVM a literal list is copied whole onto the heap at each use
    case S of
        100 -> <<"Continue">>;
        101 -> <<"Switching Protocols">>;
        200 -> <<"OK">>;
        201 -> <<"Created">>;
        202 -> <<"Accepted">>;
        203 -> <<"Non-Authoritative Information">>;
        204 -> <<"No Content">>;
        205 -> <<"Reset Content">>;
        206 -> <<"Partial Content">>;
        300 -> <<"Multiple Choices">>;
        301 -> <<"Moved Permanently">>;
        302 -> <<"Found">>;
        303 -> <<"See Other">>;
        304 -> <<"Not Modified">>;
        307 -> <<"Temporary Redirect">>;
        308 -> <<"Permanent Redirect">>;
        400 -> <<"Bad Request">>;
        401 -> <<"Unauthorized">>;
        403 -> <<"Forbidden">>;
        404 -> <<"Not Found">>;
        405 -> <<"Method Not Allowed">>;
        406 -> <<"Not Acceptable">>;
        408 -> <<"Request Timeout">>;
        409 -> <<"Conflict">>;
        410 -> <<"Gone">>;
        411 -> <<"Length Required">>;
        412 -> <<"Precondition Failed">>;
        413 -> <<"Content Too Large">>;
        414 -> <<"URI Too Long">>;
        415 -> <<"Unsupported Media Type">>;
        416 -> <<"Range Not Satisfiable">>;
        417 -> <<"Expectation Failed">>;
        422 -> <<"Unprocessable Content">>;
        426 -> <<"Upgrade Required">>;
        428 -> <<"Precondition Required">>;
        429 -> <<"Too Many Requests">>;
        431 -> <<"Request Header Fields Too Large">>;
        500 -> <<"Internal Server Error">>;
        501 -> <<"Not Implemented">>;
        502 -> <<"Bad Gateway">>;
        503 -> <<"Service Unavailable">>;
        504 -> <<"Gateway Timeout">>;
        505 -> <<"HTTP Version Not Supported">>;
        _ -> <<>>
    end.

%% ---------------------------------------------------------------------------------------------

%% The server always answers with its own version, HTTP/1.1 (RFC 9110 section 6.2).
status_line(200, Ro) ->
    Ro#ro.status_200;
status_line(S, _Ro) when is_integer(S), S >= 100, S =< 999 ->
    [<<"HTTP/1.1 ">>, integer_to_binary(S), <<" ">>, reason_phrase(S), <<"\r\n">>];
status_line(S, _Ro) ->
    erlang:error({invalid_status, S}).

%% (Clauses and guards rather than boolean expressions here and below: on AtomVM testing a `false'
%% against `true' compares the two atoms by name, under the atom table's lock.)

%% A handler that framed the body itself (content-length or transfer-encoding) is trusted; both
%% together are forbidden (RFC 9112 section 6.2). 1xx, 204 and 304 responses never carry content
%% (RFC 9110 sections 6.4.1, 8.6).
length_field(false, Status, Body, Ro) when Status >= 200, Status =/= 204, Status =/= 304 ->
    [Ro#ro.content_length, integer_to_binary(iolist_size(Body)), Ro#ro.crlf];
length_field(_Framed, _Status, _Body, _Ro) ->
    [].

%% The body, unless the status has none or the request was a HEAD.
content(Status, _Body, _Ro) when Status < 200; Status =:= 204; Status =:= 304 -> [];
content(_Status, Body, #ro{head = false}) -> Body;
content(_Status, _Body, _Ro) -> [].

connection(#ro{keepalive = K, version = {_, 1}}) when K -> [];
connection(#ro{keepalive = false, close = Close}) -> Close;
connection(#ro{version = {_, 0}, keep_alive = KeepAlive}) -> KeepAlive;
connection(_) -> [].

%% The header lines (left-nested iodata) and whether the handler set content-length or
%% transfer-encoding; CR or LF in a field is refused (no response splitting).
fields([{Name, Value} | R], Acc, Framed, Ro = #ro{line_ends = Ends}) ->
    safe(Name, Ends) andalso safe(Value, Ends) orelse erlang:error({invalid_header, Name}),
    fields(R, [Acc, Name, Ro#ro.colon_sp, Value, Ro#ro.crlf], framed(Framed, Name, Ro), Ro);
fields([], Acc, Framed, _Ro) ->
    {Acc, Framed};
fields([Other | _], _Acc, _Framed, _Ro) ->
    erlang:error({invalid_header, Other}).

framed(false, Name, Ro) ->
    case byte_size(Name) of
        14 -> httpd_parse:ieq(Name, Ro#ro.content_length_name);
        17 -> httpd_parse:ieq(Name, Ro#ro.transfer_encoding_name);
        _ -> false
    end;
framed(true, _Name, _Ro) ->
    true.

safe(B, Ends) when is_binary(B) ->
    binary:match(B, Ends) =:= nomatch;
safe(L, Ends) when is_list(L) ->
    safe(iolist_to_binary(L), Ends);
safe(_, _Ends) ->
    false.
