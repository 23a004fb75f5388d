%% A parsed request head as `httpd_parse:request_head/2' returns it: the fields of the `head()' map of
%% `httpd_parse:request/2', in a tuple. On AtomVM a map built from variables costs a sort by key
%% (atom keys compare by name, ~50 ns each), so the connection builds its request map once, from this.
-record(head, {
    method :: binary(),
    raw_path :: binary(),
    path :: binary(),
    qs :: binary(),
    query :: [{binary(), binary()}],
    version :: {1, 0 | 1},
    headers :: [{binary(), binary()}],
    body :: none | {length, non_neg_integer()} | chunked,
    keepalive :: boolean(),
    expect_continue :: boolean()
}).

%% What a request carries of its connection (`'$conn'' in the request map): the socket, the bytes read
%% past the head, the server, its config, the request's number on the connection and its head as read
%% (the reply's framing follows what came on the wire, whatever middleware made of the request map). httpd_conn's and
%% httpd_ws_conn's business only; a record, since a map costs a sort per request on AtomVM.
-record(conn, {
    socket,
    buf = <<>> :: binary(),
    server :: pid() | undefined,
    cfg = #{} :: map(),
    n = 1 :: pos_integer(),
    head :: #head{} | undefined
}).
