%% @doc Pure middleware: HTTP Basic authentication (RFC 7617). Requests without valid credentials
%% get 401 with `www-authenticate: Basic realm="..."' (RFC 9110 section 11.6.1).
%% Opts: `users => [{User, Password}]' (binaries), `realm' (default `<<"device">>'), `prefix'
%% (protect only paths starting with it; default every path). On success the request carries
%% `auth_user => User'.
-module(httpd_mw_basic_auth).
-behaviour(httpd_middleware).

-export([request/2, response/3]).

%% @doc httpd_middleware callback.
-spec request(map(), map()) -> {ok, map()} | {stop, 401, list(), binary()}.
request(Req = #{path := Path}, Opts) ->
    Prefix = maps:get(prefix, Opts, <<"/">>),
    case is_prefix(Prefix, Path) of
        false ->
            {ok, Req};
        true ->
            case credentials(httpd_handler:header(<<"authorization">>, Req)) of
                {ok, User, Pass} ->
                    case check(User, Pass, maps:get(users, Opts, [])) of
                        true -> {ok, Req#{auth_user => User}};
                        false -> deny(Opts)
                    end;
                error ->
                    deny(Opts)
            end
    end.

%% @doc httpd_middleware callback: nothing to add.
-spec response(map(), {integer(), list(), term()}, map()) -> {integer(), list(), term()}.
response(_Req, Resp, _Opts) ->
    Resp.

deny(Opts) ->
    Realm = maps:get(realm, Opts, <<"device">>),
    {stop, 401,
        [{<<"www-authenticate">>, <<"Basic realm=\"", Realm/binary, "\"">>},
            {<<"content-type">>, <<"text/plain">>}],
        <<"unauthorized\n">>}.

is_prefix(Prefix, Path) ->
    byte_size(Path) >= byte_size(Prefix) andalso binary:part(Path, 0, byte_size(Prefix)) =:= Prefix.

%% The auth-scheme is case-insensitive (RFC 9110 section 11.1).
credentials(<<S:5/binary, " ", B64/binary>>) ->
    case httpd_parse:lower(S) of
        <<"basic">> ->
            try base64:decode(B64) of
                Decoded ->
                    case binary:split(Decoded, <<":">>) of
                        [User, Pass] -> {ok, User, Pass};
                        _ -> error
                    end
            catch
                _:_ -> error
            end;
        _ ->
            error
    end;
credentials(_) ->
    error.

check(User, Pass, Users) ->
    case lists:keyfind(User, 1, Users) of
        {_, Expected} -> same(Pass, Expected);
        false -> false
    end.

%% Compares every byte whatever the first difference, so timing does not reveal the password.
same(A, B) when byte_size(A) =:= byte_size(B) ->
    same(A, B, 0);
same(_, _) ->
    false.

same(<<X, RA/binary>>, <<Y, RB/binary>>, Acc) -> same(RA, RB, Acc bor (X bxor Y));
same(<<>>, <<>>, Acc) -> Acc =:= 0.
