%% Every reply form of atomvm_lib's httpd_handler, one per path suffix, and an echo of the request map.
-module(legacy_forms).
-export([init_handler/2, handle_http_req/2]).

init_handler(Suffix, Config) ->
    {ok, #{suffix => Suffix, config => Config, pieces => 0}}.

handle_http_req(Req = #{path_suffix := [Form]}, State) ->
    form(Form, Req, State);
handle_http_req(_Req, _State) ->
    {error, not_found}.

form(<<"reply">>, _Req, S) -> {reply, <<"r">>, S};
form(<<"reply_headers">>, _Req, S) ->
    {reply, #{"Content-Type" => "text/html", <<"X-Form">> => reply_headers, "Content-Length" => "999"}, "<b>h</b>", S};
form(<<"close">>, _Req, _S) -> close;
form(<<"close_body">>, _Req, _S) -> {close, <<"cb">>};
form(<<"close_headers">>, _Req, _S) -> {close, #{"Content-Type" => "text/plain"}, [<<"c">>, "h"]};
form(<<"not_found">>, _Req, _S) -> {error, not_found};
form(<<"bad_request">>, _Req, _S) -> {error, bad_request};
form(<<"internal_server_error">>, _Req, _S) -> {error, internal_server_error};
form(<<"other_error">>, _Req, _S) -> {error, teapot};
form(<<"garbage">>, _Req, _S) -> {what, ever};
form(<<"crash">>, _Req, _S) -> erlang:error(boom);
form(<<"noreply">>, _Req, S) -> {noreply, S};
form(<<"early">>, _Req, _S) -> {close, <<"early">>};
form(<<"pieces">>, #{body := Body, headers := Hs}, S = #{pieces := N}) ->
    %% atomvm_lib's own way: done when the bytes so far reach Content-Length
    Seen = maps:get(seen, S, 0) + byte_size(Body),
    S2 = S#{pieces := N + 1, seen => Seen},
    case Seen < binary_to_integer(maps:get(<<"Content-Length">>, Hs)) of
        true -> {noreply, S2};
        false -> {reply, #{"Content-Type" => "application/json"}, json_encoder:encode(#{pieces => N + 1, bytes => Seen}), S2}
    end;
form(<<"echo">>, Req, #{config := Config}) ->
    #{method := M, path := P, path_suffix := Suffix, uri := Uri, query_params := Q, headers := H, body := B} = Req,
    Keys = [K || {K, _} <- maps:to_list(Q)],
    {reply, #{"Content-Type" => "application/json"},
     json_encoder:encode(#{method => M, path => P, suffix => Suffix, uri => Uri, query => Q,
                           atom_keys => [K || K <- Keys, is_atom(K)], headers => H, body => B,
                           config => Config, peer_port => peer_port(maps:get(socket, Req))}),
     nostate};
form(_, _Req, _S) -> {error, not_found}.

%% atomvm_lib's handlers call socket:peername/1 on the request's socket (its httpd_example does).
peer_port(Socket) ->
    case socket:peername(Socket) of
        {ok, #{port := Port}} -> Port;
        Other -> iolist_to_binary(io_lib:format("~p", [Other]))
    end.
