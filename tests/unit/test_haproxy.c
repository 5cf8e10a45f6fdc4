/*
 * test_haproxy: the balancer's side of a local HAProxy.  The two parsers
 * run on answers captured from HAProxy 2.6.12 ("show servers state",
 * "show stat -1 4 -1" and "show stat" with servers up, drained by the
 * operator, drained by their agent, in maintenance, added at runtime) and
 * on malformed variants; the haproxy.cfg rewrite on the layout
 * lb/render.py writes; haproxy_command against a small unix-socket peer
 * run in a thread (an answer, one in pieces, a large one, silence, no
 * socket).
 *
 * Texts are handed over in heap buffers of exactly their length, without
 * a NUL, so a read past the length shows under SANITIZE=address.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "haproxy.h"

/*
 * Under SANITIZE=undefined, undefined behaviour fails the test instead of
 * printing a line among passing ones.
 */
const char *__ubsan_default_options(void);
const char *
__ubsan_default_options(void)
{
	return "halt_on_error=1:print_stacktrace=1";
}

/*
 * Captured from HAProxy 2.6.12 (lb/templates/haproxy.cfg.in's backends,
 * w9 added with "add server"), byte for byte; long lines are split only
 * to fit here.
 */
#define STATE_HEADER \
	"# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admi" \
	"n_state srv_uweight srv_iweight srv_time_since_last_change srv" \
	"_check_status srv_check_result srv_check_health srv_check_stat" \
	"e srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_" \
	"port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_a" \
	"gent_addr srv_agent_port\n"

#define STAT_HEADER \
	"# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dr" \
	"esp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,chkfail" \
	",chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tr" \
	"acked,type,rate,rate_lim,rate_max,check_status,check_code,chec" \
	"k_duration,hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_o" \
	"ther,hanafail,req_rate,req_rate_max,req_tot,cli_abrt,srv_abrt," \
	"comp_in,comp_out,comp_byp,comp_rsp,lastsess,last_chk,last_agt," \
	"qtime,ctime,rtime,ttime,agent_status,agent_code,agent_duration" \
	",check_desc,agent_desc,check_rise,check_fall,check_health,agen" \
	"t_rise,agent_fall,agent_health,addr,cookie,mode,algo,conn_rate" \
	",conn_rate_max,conn_tot,intercepted,dcon,dses,wrew,connect,reu" \
	"se,cache_lookups,cache_hits,srv_icur,src_ilim,qtime_max,ctime_" \
	"max,rtime_max,ttime_max,eint,idle_conn_cur,safe_conn_cur,used_" \
	"conn_cur,need_conn_est,uweight,agg_server_status,agg_server_ch" \
	"eck_status,agg_check_status,-,ssl_sess,ssl_reused_sess,ssl_fai" \
	"led_handshake,h2_headers_rcvd,h2_data_rcvd,h2_settings_rcvd,h2" \
	"_rst_stream_rcvd,h2_goaway_rcvd,h2_detected_conn_protocol_erro" \
	"rs,h2_detected_strm_protocol_errors,h2_rst_stream_resp,h2_goaw" \
	"ay_resp,h2_open_connections,h2_backend_open_streams,h2_total_c" \
	"onnections,h2_backend_total_streams,h1_open_connections,h1_ope" \
	"n_streams,h1_total_connections,h1_total_streams,h1_bytes_in,h1" \
	"_bytes_out,h1_spliced_bytes_in,h1_spliced_bytes_out,\n"

/* Servers up, with connections (w1 answers its agent-check "ready 50%"). */
static const char STATE_REAL[] =
	"1\n"
	STATE_HEADER
	"3 workers_agents 1 w1 127.0.0.2 2 0 50 100 7 6 3 4 6 22 0 0 - "
	"1514 - 0 0 - - 1518\n"
	"3 workers_agents 2 w2 127.0.0.3 2 0 1 1 6 6 3 4 6 0 0 0 - 1514"
	" - 0 0 - - 0\n"
	"5 nodes_enrollment 1 m1 127.0.0.1 2 0 1 1 7 6 3 4 6 0 0 0 - 15"
	"15 - 0 0 - - 0\n"
	"5 nodes_enrollment 2 w9 127.0.0.9 0 1 1 1 158 1 0 0 2 0 0 0 - "
	"1515 - 0 0 - - 0\n"
	"\n";

/* w1 drained by its agent, w2 by the operator. */
static const char STATE_DRAIN_REAL[] =
	"1\n"
	STATE_HEADER
	"3 workers_agents 1 w1 127.0.0.2 2 8 50 100 5 6 3 4 6 22 0 0 - "
	"1514 - 0 0 - - 1518\n"
	"3 workers_agents 2 w2 127.0.0.3 2 8 1 1 6 6 3 4 6 0 0 0 - 1514"
	" - 0 0 - - 0\n"
	"5 nodes_enrollment 1 m1 127.0.0.1 2 0 1 1 5 6 3 4 6 0 0 0 - 15"
	"15 - 0 0 - - 0\n"
	"5 nodes_enrollment 2 w9 127.0.0.9 0 1 1 1 16 1 0 0 2 0 0 0 - 1"
	"515 - 0 0 - - 0\n"
	"\n";

/* "show stat -1 4 -1" (servers only) next to STATE_REAL. */
static const char STAT_REAL[] =
	STAT_HEADER
	"workers_agents,w1,0,0,4,4,,4,0,0,,0,,0,0,0,0,UP,50,1,0,7,3,7,5"
	"6,,1,3,1,,4,,2,3,,4,L4OK,,0,,,,,,,,,,,0,0,,,,,1,,,0,0,0,0,CHEC"
	"KED,,0,Layer4 check passed,No status change,2,3,4,1,1,1,127.0."
	"0.2:1514,,tcp,,,,,,,,0,4,0,,,0,,0,0,0,0,0,0,0,0,1,50,,,,-,0,0,"
	"0,,,,,,,,,,,,,,,,,,,,,,\n"
	"workers_agents,w2,0,0,1,1,,1,0,0,,0,,0,0,0,0,UP,1,1,0,4,2,6,90"
	",,1,3,2,,1,,2,1,,1,L4OK,,0,,,,,,,,,,,0,0,,,,,1,,,0,0,0,0,,,,La"
	"yer4 check passed,,2,3,4,,,,127.0.0.3:1514,,tcp,,,,,,,,0,1,0,,"
	",0,,0,0,0,0,0,0,0,0,1,1,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,\n"
	"nodes_enrollment,m1,0,0,0,0,,0,0,0,,0,,0,0,0,0,UP,1,1,0,4,2,7,"
	"94,,1,5,1,,0,,2,0,,0,L4OK,,0,,,,,,,,,,,0,0,,,,,-1,,,0,0,0,0,,,"
	",Layer4 check passed,,2,3,4,,,,127.0.0.1:1515,,tcp,,,,,,,,0,0,"
	"0,,,0,,0,0,0,0,0,0,0,0,1,1,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,\n"
	"nodes_enrollment,w9,0,0,0,0,,0,0,0,,0,,0,0,0,0,MAINT,1,1,0,,,1"
	"58,,,1,5,2,,0,,2,0,,0,,,,,,,,,,,,,,0,0,,,,,-1,,,0,0,0,0,,,,,,,"
	",,,,,127.0.0.9:1515,,tcp,,,,,,,,0,0,0,,,0,0,0,0,0,0,0,0,0,0,0,"
	"1,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,\n"
	"\n";

/* Next to STATE_DRAIN_REAL. */
static const char STAT_DRAIN_REAL[] =
	STAT_HEADER
	"workers_agents,w1,0,0,0,0,,0,0,0,,0,,0,0,0,0,DRAIN (agent),50,"
	"1,0,1,1,5,1,,1,3,1,,0,,2,0,,0,L4OK,,0,,,,,,,,,,,0,0,,,,,-1,,ag"
	"ent reports an error : a,0,0,0,0,CHECKED,,0,Layer4 check passe"
	"d,No status change,2,3,4,1,1,1,127.0.0.2:1514,,tcp,,,,,,,,0,0,"
	"0,,,0,,0,0,0,0,0,0,0,0,1,50,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,\n"
	"workers_agents,w2,0,0,0,0,,0,0,0,,0,,0,0,0,0,DRAIN,1,1,0,1,1,6"
	",10,,1,3,2,,0,,2,0,,0,L4OK,,0,,,,,,,,,,,0,0,,,,,-1,,,0,0,0,0,,"
	",,Layer4 check passed,,2,3,4,,,,127.0.0.3:1514,,tcp,,,,,,,,0,0"
	",0,,,0,,0,0,0,0,0,0,0,0,1,1,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,\n"
	"nodes_enrollment,m1,0,0,0,0,,0,0,0,,0,,0,0,0,0,UP,1,1,0,1,1,5,"
	"16,,1,5,1,,0,,2,0,,0,L4OK,,0,,,,,,,,,,,0,0,,,,,-1,,,0,0,0,0,,,"
	",Layer4 check passed,,2,3,4,,,,127.0.0.1:1515,,tcp,,,,,,,,0,0,"
	"0,,,0,,0,0,0,0,0,0,0,0,1,1,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,\n"
	"nodes_enrollment,w9,0,0,0,0,,0,0,0,,0,,0,0,0,0,MAINT,1,1,0,,,1"
	"6,,,1,5,2,,0,,2,0,,0,,,,,,,,,,,,,,0,0,,,,,-1,,,0,0,0,0,,,,,,,,"
	",,,,127.0.0.9:1515,,tcp,,,,,,,,0,0,0,,,0,0,0,0,0,0,0,0,0,0,0,1"
	",,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,\n"
	"\n";

/* Plain "show stat": frontends, backends and a stats proxy too. */
static const char STAT_ALL_REAL[] =
	STAT_HEADER
	"agents,FRONTEND,,,5,5,9982,8,0,0,0,0,0,,,,,OPEN,,,,,,,,,1,2,0,"
	",,,0,0,0,5,,,,,,,,,,,0,0,0,,,0,0,0,0,,,,,,,,,,,,,,,,,,,,,tcp,,"
	"0,5,8,,0,0,0,,,,,,,,,,,0,,,,,,,,,-,0,0,0,0,0,0,0,0,0,0,0,0,0,0"
	",0,0,0,0,0,0,0,0,0,0,\n"
	"workers_agents,w1,0,0,4,4,,4,0,0,,0,,0,0,0,0,UP,50,1,0,7,3,9,5"
	"6,,1,3,1,,4,,2,0,,4,L4OK,,0,,,,,,,,,,,0,0,,,,,3,,,0,0,0,0,CHEC"
	"KED,,0,Layer4 check passed,No status change,2,3,4,1,1,1,127.0."
	"0.2:1514,,tcp,,,,,,,,0,4,0,,,0,,0,0,0,0,0,0,0,0,1,50,,,,-,0,0,"
	"0,,,,,,,,,,,,,,,,,,,,,,\n"
	"workers_agents,w2,0,0,1,1,,1,0,0,,0,,0,0,0,0,UP,1,1,0,4,2,8,90"
	",,1,3,2,,1,,2,0,,1,L4OK,,0,,,,,,,,,,,0,0,,,,,3,,,0,0,0,0,,,,La"
	"yer4 check passed,,2,3,4,,,,127.0.0.3:1514,,tcp,,,,,,,,0,1,0,,"
	",0,,0,0,0,0,0,0,0,0,1,1,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,\n"
	"workers_agents,BACKEND,0,0,5,5,999,8,0,0,0,0,,3,0,0,0,UP,51,2,"
	"0,,2,9,156,,1,3,0,,5,,1,0,,5,,,,,,,,,,,,,,0,0,0,0,0,0,3,,,0,0,"
	"0,0,,,,,,,,,,,,,,tcp,leastconn,,,,,,,0,5,0,,,,,0,0,0,0,0,,,,,5"
	"1,0,0,0,-,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,\n"
	"enrollment,FRONTEND,,,0,0,9982,0,0,0,0,0,0,,,,,OPEN,,,,,,,,,1,"
	"4,0,,,,0,0,0,0,,,,,,,,,,,0,0,0,,,0,0,0,0,,,,,,,,,,,,,,,,,,,,,t"
	"cp,,0,0,0,,0,0,0,,,,,,,,,,,0,,,,,,,,,-,0,0,0,0,0,0,0,0,0,0,0,0"
	",0,0,0,0,0,0,0,0,0,0,0,0,\n"
	"nodes_enrollment,m1,0,0,0,0,,0,0,0,,0,,0,0,0,0,UP,1,1,0,4,2,9,"
	"94,,1,5,1,,0,,2,0,,0,L4OK,,0,,,,,,,,,,,0,0,,,,,-1,,,0,0,0,0,,,"
	",Layer4 check passed,,2,3,4,,,,127.0.0.1:1515,,tcp,,,,,,,,0,0,"
	"0,,,0,,0,0,0,0,0,0,0,0,1,1,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,\n"
	"nodes_enrollment,w9,0,0,0,0,,0,0,0,,0,,0,0,0,0,MAINT,1,1,0,,,1"
	"60,,,1,5,2,,0,,2,0,,0,,,,,,,,,,,,,,0,0,,,,,-1,,,0,0,0,0,,,,,,,"
	",,,,,127.0.0.9:1515,,tcp,,,,,,,,0,0,0,,,0,0,0,0,0,0,0,0,0,0,0,"
	"1,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,\n"
	"nodes_enrollment,BACKEND,0,0,0,0,999,0,0,0,0,0,,0,0,0,0,UP,1,1"
	",0,,2,9,94,,1,5,0,,0,,1,0,,0,,,,,,,,,,,,,,0,0,0,0,0,0,-1,,,0,0"
	",0,0,,,,,,,,,,,,,,tcp,roundrobin,,,,,,,0,0,0,,,,,0,0,0,0,0,,,,"
	",1,0,0,0,-,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,\n"
	"stats,FRONTEND,,,0,0,9982,0,0,0,0,0,0,,,,,OPEN,,,,,,,,,1,6,0,,"
	",,0,0,0,0,,,,0,0,0,0,0,0,,0,0,0,,,0,0,0,0,,,,,,,,,,,,,,,,,,,,,"
	"http,,0,0,0,0,0,0,0,,,0,0,,,,,,,0,,,,,,,,,-,0,0,0,0,0,0,0,0,0,"
	"0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,\n"
	"stats,BACKEND,0,0,0,0,999,0,0,0,0,0,,0,0,0,0,UP,0,0,0,,0,167,,"
	",1,6,0,,0,,1,0,,0,,,,0,0,0,0,0,0,,,,0,0,0,0,0,0,0,-1,,,0,0,0,0"
	",,,,,,,,,,,,,,http,roundrobin,,,,,,,0,0,0,0,0,,,0,0,0,0,0,,,,,"
	"0,0,0,0,-,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,\n"
	"\n";

/* The first answer: w2 drained by the operator, w1 without an agent. */
static const char STATE_SAMPLE[] =
	"1\n"
	STATE_HEADER
	"3 workers_agents 1 w1 127.0.0.2 0 0 1 1 0 8 2 0 6 0 0 0 - 1514 - "
	"0 0 - - 0\n"
	"3 workers_agents 2 w2 127.0.0.3 0 8 1 1 0 1 0 2 6 22 0 0 - 1514 - "
	"0 0 - - 1518\n"
	"\n";

/* A heap copy of text[0..len) with no NUL after it. */
static char *
exact(const char *text, size_t len)
{
	char	*p = malloc(len > 0 ? len : 1);

	assert_non_null(p);
	memcpy(p, text, len);
	return p;
}

static int
parse_state_n(const char *text, size_t len, struct haproxy_server **v,
    size_t *n)
{
	char	*p = exact(text, len);
	int	 r;

	*v = (struct haproxy_server *)&r;	/* must be reset */
	*n = 12345;
	r = haproxy_parse_state(p, len, v, n);
	free(p);
	if (r == -1) {
		assert_null(*v);
		assert_int_equal(*n, 0);
	}
	return r;
}

static int
parse_state(const char *text, struct haproxy_server **v, size_t *n)
{
	return parse_state_n(text, strlen(text), v, n);
}

static int
merge_stat(const char *text, struct haproxy_server *v, size_t n)
{
	size_t	 len = strlen(text);
	char	*p = exact(text, len);
	int	 r;

	r = haproxy_merge_stat(p, len, v, n);
	free(p);
	return r;
}

static void
server_is(const struct haproxy_server *s, const char *be, const char *name,
    const char *addr, unsigned port, unsigned admin, unsigned agent)
{
	assert_string_equal(s->backend, be);
	assert_string_equal(s->name, name);
	assert_string_equal(s->address, addr);
	assert_int_equal(s->port, port);
	assert_int_equal(s->admin, admin);
	assert_int_equal(s->agent_port, agent);
}

static void
stat_is(const struct haproxy_server *s, const char *status, unsigned conns)
{
	assert_string_equal(s->status, status);
	assert_int_equal(s->connections, conns);
}

/* ---- show servers state ---- */

static void
test_state_sample(void **state)
{
	struct haproxy_server	*v;
	size_t			 n;

	(void)state;
	assert_int_equal(parse_state(STATE_SAMPLE, &v, &n), 0);
	assert_int_equal(n, 2);
	server_is(&v[0], "workers_agents", "w1", "127.0.0.2", 1514, 0, 0);
	server_is(&v[1], "workers_agents", "w2", "127.0.0.3", 1514,
	    HAPROXY_ADMF_FDRAIN, 1518);
	/* Nothing from "show stat" yet. */
	stat_is(&v[0], "", 0);
	stat_is(&v[1], "", 0);
	free(v);
}

static void
test_state_real(void **state)
{
	struct haproxy_server	*v;
	size_t			 n;

	(void)state;
	assert_int_equal(parse_state(STATE_REAL, &v, &n), 0);
	assert_int_equal(n, 4);
	server_is(&v[0], "workers_agents", "w1", "127.0.0.2", 1514, 0, 1518);
	server_is(&v[1], "workers_agents", "w2", "127.0.0.3", 1514, 0, 0);
	server_is(&v[2], "nodes_enrollment", "m1", "127.0.0.1", 1515, 0, 0);
	/* Added at runtime: in maintenance until enabled. */
	server_is(&v[3], "nodes_enrollment", "w9", "127.0.0.9", 1515,
	    HAPROXY_ADMF_FMAINT, 0);
	free(v);

	/* An agent's "drain" sets the same bit as the operator's. */
	assert_int_equal(parse_state(STATE_DRAIN_REAL, &v, &n), 0);
	assert_int_equal(n, 4);
	server_is(&v[0], "workers_agents", "w1", "127.0.0.2", 1514,
	    HAPROXY_ADMF_FDRAIN, 1518);
	server_is(&v[1], "workers_agents", "w2", "127.0.0.3", 1514,
	    HAPROXY_ADMF_FDRAIN, 0);
	server_is(&v[3], "nodes_enrollment", "w9", "127.0.0.9", 1515,
	    HAPROXY_ADMF_FMAINT, 0);
	free(v);
}

/* An empty backend, with and without the answer's closing empty line. */
static void
test_state_no_servers(void **state)
{
	struct haproxy_server	*v;
	size_t			 n;

	(void)state;
	assert_int_equal(parse_state("1\n" STATE_HEADER "\n", &v, &n), 0);
	assert_int_equal(n, 0);
	free(v);
	assert_int_equal(parse_state("1\n" STATE_HEADER, &v, &n), 0);
	assert_int_equal(n, 0);
	free(v);
	/* Header without its newline, empty lines between servers. */
	assert_int_equal(parse_state("1\n# be_name srv_name srv_addr "
	    "srv_admin_state srv_port", &v, &n), 0);
	assert_int_equal(n, 0);
	free(v);
	assert_int_equal(parse_state("1\n# be_name srv_name srv_addr "
	    "srv_admin_state srv_port\n\n\nb s 10.0.0.1 0 1\n\n\nb t ::1 1 2",
	    &v, &n), 0);
	assert_int_equal(n, 2);
	server_is(&v[0], "b", "s", "10.0.0.1", 1, 0, 0);
	server_is(&v[1], "b", "t", "::1", 2, 1, 0);
	free(v);
}

/* Columns are found by name: another order, more columns, no agent port. */
static void
test_state_columns_by_name(void **state)
{
	struct haproxy_server	*v;
	size_t			 n;

	(void)state;
	assert_int_equal(parse_state("1\n# srv_port new_column srv_agent_port "
	    "srv_name be_name srv_admin_state srv_addr\n"
	    "1515 x 1518 w1 be1 8 10.0.0.1\n"
	    "  1516   y  0  w2  be1  0  10.0.0.2  and more\n", &v, &n), 0);
	assert_int_equal(n, 2);
	server_is(&v[0], "be1", "w1", "10.0.0.1", 1515, 8, 1518);
	server_is(&v[1], "be1", "w2", "10.0.0.2", 1516, 0, 0);
	free(v);

	assert_int_equal(parse_state("1\n# be_name srv_name srv_addr "
	    "srv_admin_state srv_port\nbe1 w1 10.0.0.1 0 1514\n", &v, &n), 0);
	assert_int_equal(n, 1);
	server_is(&v[0], "be1", "w1", "10.0.0.1", 1514, 0, 0);
	free(v);
}

/* Field limits: what fits is kept whole, one more is refused. */
static void
test_state_limits(void **state)
{
	struct haproxy_server	*v;
	size_t			 n;
	char			 name[HAPROXY_NAME_MAX + 1], text[512];

	(void)state;
	memset(name, 'n', sizeof(name) - 1);
	name[HAPROXY_NAME_MAX - 1] = '\0';		/* 63: fits */
	snprintf(text, sizeof(text), "1\n# be_name srv_name srv_addr "
	    "srv_admin_state srv_port srv_agent_port\n"
	    "%s %s %s 255 65535 65535\nb w 10.0.0.1 0000000008 0 0\n",
	    name, name, name);
	assert_int_equal(parse_state(text, &v, &n), 0);
	assert_int_equal(n, 2);
	server_is(&v[0], name, name, name, 65535, 255, 65535);
	server_is(&v[1], "b", "w", "10.0.0.1", 0, 8, 0);
	free(v);

	name[HAPROXY_NAME_MAX - 1] = 'n';		/* 64: too long */
	name[HAPROXY_NAME_MAX] = '\0';
	snprintf(text, sizeof(text), "1\n# be_name srv_name srv_addr "
	    "srv_admin_state srv_port\nb %s 10.0.0.1 0 1514\n", name);
	assert_int_equal(parse_state(text, &v, &n), -1);
	snprintf(text, sizeof(text), "1\n# be_name srv_name srv_addr "
	    "srv_admin_state srv_port\n%s w 10.0.0.1 0 1514\n", name);
	assert_int_equal(parse_state(text, &v, &n), -1);
	snprintf(text, sizeof(text), "1\n# be_name srv_name srv_addr "
	    "srv_admin_state srv_port\nb w %s 0 1514\n", name);
	assert_int_equal(parse_state(text, &v, &n), -1);
}

/* Many servers: the array grows past its first allocations. */
static void
test_state_many(void **state)
{
	struct haproxy_server	*v;
	size_t			 n, len = 0, i;
	char			*text;

	(void)state;
	text = malloc(1000 * 64 + 128);
	assert_non_null(text);
	len += (size_t)sprintf(text, "1\n# be_name srv_name srv_addr "
	    "srv_admin_state srv_port\n");
	for (i = 0; i < 1000; i++)
		len += (size_t)sprintf(text + len, "be s%zu 10.0.%zu.%zu 0 %zu\n",
		    i, i / 256, i % 256, 1000 + i);
	assert_int_equal(parse_state_n(text, len, &v, &n), 0);
	assert_int_equal(n, 1000);
	for (i = 0; i < 1000; i += 111) {
		char	nm[16], ad[32];

		snprintf(nm, sizeof(nm), "s%zu", i);
		snprintf(ad, sizeof(ad), "10.0.%zu.%zu", i / 256, i % 256);
		server_is(&v[i], "be", nm, ad, (unsigned)(1000 + i), 0, 0);
	}
	free(v);
	free(text);
}

/* Only text[0..len) counts: an answer cut after w1 holds only w1. */
static void
test_state_length_bound(void **state)
{
	struct haproxy_server	*v;
	size_t			 n;
	const char		*w2 = strstr(STATE_REAL, "3 workers_agents 2");

	(void)state;
	assert_non_null(w2);
	assert_int_equal(parse_state_n(STATE_REAL, (size_t)(w2 - STATE_REAL),
	    &v, &n), 0);
	assert_int_equal(n, 1);
	server_is(&v[0], "workers_agents", "w1", "127.0.0.2", 1514, 0, 1518);
	free(v);
	assert_int_equal(parse_state_n(STATE_REAL, 0, &v, &n), -1);
	assert_int_equal(parse_state_n(STATE_REAL, 1, &v, &n), -1);	/* "1" */
}

/* Answers that are not a server list, and broken server lines. */
static void
test_state_refused(void **state)
{
	static const char *const bad[] = {
		"",
		"\n",
		"1",
		"1\n",
		"2\n" STATE_HEADER,
		"1 \n" STATE_HEADER,
		"01\n" STATE_HEADER,
		"\n1\n" STATE_HEADER,
		"1\r\n" STATE_HEADER,
		"1\n\n" STATE_HEADER,
		"1\nbe_id be_name srv_id srv_name srv_addr srv_admin_state "
		    "srv_port\n",
		"1\n#be_name srv_name srv_addr srv_admin_state srv_port\n",
		"Can't find backend.\n\n",
		"Unknown command: 'show servers stat', but maybe one of the "
		    "following ones is a better match:\n",
		"Permission denied\n\n",
		/* Server lines that do not reach every column. */
		"1\n" STATE_HEADER "3 workers_agents 1 w1 127.0.0.2 0 0\n",
		"1\n" STATE_HEADER "3 workers_agents 1 w1 127.0.0.2 0 0 1 1 0 8 "
		    "2 0 6 0 0 0 - 1514 - 0 0 - -\n",
		"1\n" STATE_HEADER "   \n",
		/* Numbers. */
		"1\n# be_name srv_name srv_addr srv_admin_state srv_port\n"
		    "b w 10.0.0.1 0 65536\n",
		"1\n# be_name srv_name srv_addr srv_admin_state srv_port\n"
		    "b w 10.0.0.1 0 -1\n",
		"1\n# be_name srv_name srv_addr srv_admin_state srv_port\n"
		    "b w 10.0.0.1 0 +1514\n",
		"1\n# be_name srv_name srv_addr srv_admin_state srv_port\n"
		    "b w 10.0.0.1 0 1514x\n",
		"1\n# be_name srv_name srv_addr srv_admin_state srv_port\n"
		    "b w 10.0.0.1 0 -\n",
		"1\n# be_name srv_name srv_addr srv_admin_state srv_port\n"
		    "b w 10.0.0.1 0 00000001514\n",
		"1\n# be_name srv_name srv_addr srv_admin_state srv_port\n"
		    "b w 10.0.0.1 0 99999999999999999999\n",
		"1\n# be_name srv_name srv_addr srv_admin_state srv_port\n"
		    "b w 10.0.0.1 256 1514\n",
		"1\n# be_name srv_name srv_addr srv_admin_state srv_port\n"
		    "b w 10.0.0.1 0x8 1514\n",
		"1\n# be_name srv_name srv_addr srv_admin_state srv_port "
		    "srv_agent_port\nb w 10.0.0.1 0 1514 65536\n",
		"1\n# be_name srv_name srv_addr srv_admin_state srv_port "
		    "srv_agent_port\nb w 10.0.0.1 0 1514 -\n",
		/* One bad line refuses the whole answer. */
		"1\n# be_name srv_name srv_addr srv_admin_state srv_port\n"
		    "b w1 10.0.0.1 0 1514\nb w2 10.0.0.2 0 1514\nb w3\n",
	};
	static const char *const columns[] = {
		"be_name", "srv_name", "srv_addr", "srv_admin_state", "srv_port"
	};
	struct haproxy_server	*v;
	size_t			 n, i;
	char			 text[1024], *p;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (parse_state(bad[i], &v, &n) != -1)
			fail_msg("accepted case %zu: \"%s\"", i, bad[i]);

	/* The real header without one of the columns the balancer reads. */
	for (i = 0; i < sizeof(columns) / sizeof(columns[0]); i++) {
		snprintf(text, sizeof(text), "%s", STATE_REAL);
		p = strstr(text, columns[i]);
		assert_non_null(p);
		p[0] = 'X';
		if (parse_state(text, &v, &n) != -1)
			fail_msg("accepted without column %s", columns[i]);
	}
}

/* Longer lines than the parser holds are refused, not cut and read. */
static void
test_state_long_line(void **state)
{
	struct haproxy_server	*v;
	size_t			 n, len;
	static char		 text[8192];

	(void)state;
	len = (size_t)sprintf(text, "1\n# be_name srv_name srv_addr "
	    "srv_admin_state srv_port\nb w 10.0.0.1 0 1514");
	memset(text + len, ' ', 3000);		/* trailing blanks */
	len += 3000;
	memcpy(text + len, "\n", 1);
	len++;
	assert_int_equal(parse_state_n(text, len, &v, &n), -1);

	/* A short enough one with the same blanks passes. */
	len = (size_t)sprintf(text, "1\n# be_name srv_name srv_addr "
	    "srv_admin_state srv_port\nb w 10.0.0.1 0 1514");
	memset(text + len, ' ', 1000);
	len += 1000;
	assert_int_equal(parse_state_n(text, len, &v, &n), 0);
	assert_int_equal(n, 1);
	server_is(&v[0], "b", "w", "10.0.0.1", 1514, 0, 0);
	free(v);
}

static void
test_admin_name(void **state)
{
	static const struct {
		unsigned	 admin;
		const char	*name;
	} t[] = {
		{ 0x00, "ready" },
		{ 0x01, "maint" },	/* forced (set server state maint) */
		{ 0x02, "maint" },	/* inherited */
		{ 0x04, "maint" },	/* config ("disabled") */
		{ 0x08, "drain" },	/* forced (or the agent's "drain") */
		{ 0x10, "drain" },	/* inherited */
		{ 0x20, "maint" },	/* resolution */
		{ 0x40, "maint" },	/* hostname */
		{ 0x09, "maint" },	/* maintenance wins over drain */
		{ 0x18, "drain" },
		{ 0x80, "ready" },
	};
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (strcmp(haproxy_admin_name(t[i].admin), t[i].name) != 0)
			fail_msg("admin 0x%02x: \"%s\", expected \"%s\"",
			    t[i].admin, haproxy_admin_name(t[i].admin),
			    t[i].name);
	assert_string_equal(haproxy_admin_name(HAPROXY_ADMF_FMAINT), "maint");
	assert_string_equal(haproxy_admin_name(HAPROXY_ADMF_FDRAIN), "drain");
}

/* ---- show stat ---- */

static void
test_stat_real(void **state)
{
	struct haproxy_server	*v;
	size_t			 n;

	(void)state;
	assert_int_equal(parse_state(STATE_REAL, &v, &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(merge_stat(STAT_REAL, v, n), 0);
	stat_is(&v[0], "UP", 4);
	stat_is(&v[1], "UP", 1);
	stat_is(&v[2], "UP", 0);
	stat_is(&v[3], "MAINT", 0);
	/* The state fields are left alone. */
	server_is(&v[0], "workers_agents", "w1", "127.0.0.2", 1514, 0, 1518);
	free(v);

	/* Plain "show stat": FRONTEND and BACKEND lines are not servers. */
	assert_int_equal(parse_state(STATE_REAL, &v, &n), 0);
	assert_int_equal(merge_stat(STAT_ALL_REAL, v, n), 0);
	stat_is(&v[0], "UP", 4);
	stat_is(&v[1], "UP", 1);
	stat_is(&v[2], "UP", 0);
	stat_is(&v[3], "MAINT", 0);
	free(v);

	assert_int_equal(parse_state(STATE_DRAIN_REAL, &v, &n), 0);
	assert_int_equal(merge_stat(STAT_DRAIN_REAL, v, n), 0);
	stat_is(&v[0], "DRAIN (agent)", 0);
	stat_is(&v[1], "DRAIN", 0);
	stat_is(&v[2], "UP", 0);
	stat_is(&v[3], "MAINT", 0);
	free(v);
}

/*
 * Servers HAProxy does not list keep no status; listed servers the
 * balancer does not hold are skipped; a name is matched within its
 * backend only.
 */
static void
test_stat_matching(void **state)
{
	struct haproxy_server	v[3];

	(void)state;
	memset(v, 0, sizeof(v));
	strcpy(v[0].backend, "be1");
	strcpy(v[0].name, "w1");
	strcpy(v[1].backend, "be2");
	strcpy(v[1].name, "w1");
	strcpy(v[2].backend, "be1");
	strcpy(v[2].name, "gone");
	v[2].connections = 77;
	assert_int_equal(merge_stat("# pxname,svname,scur,status\n"
	    "be1,w1,3,UP\nbe2,w1,5,DOWN\nbe1,other,9,UP\nbe3,w1,11,UP\n"
	    "be1,BACKEND,3,UP\nfe,FRONTEND,8,OPEN\n", v, 3), 0);
	stat_is(&v[0], "UP", 3);
	stat_is(&v[1], "DOWN", 5);
	stat_is(&v[2], "", 77);

	/* A later answer replaces what an earlier one said. */
	assert_int_equal(merge_stat("# pxname,svname,scur,status\n"
	    "be1,w1,0,no check\n", v, 3), 0);
	stat_is(&v[0], "no check", 0);
	stat_is(&v[1], "DOWN", 5);

	/* No servers to merge into: the answer is still checked. */
	assert_int_equal(merge_stat(STAT_ALL_REAL, NULL, 0), 0);
	assert_int_equal(merge_stat("# pxname,svname,scur,status\nbe1,w1,x,UP\n",
	    NULL, 0), -1);
}

/* Columns by name; what follows the columns read is not looked at. */
static void
test_stat_columns(void **state)
{
	struct haproxy_server	v[1];

	(void)state;
	memset(v, 0, sizeof(v));
	strcpy(v[0].backend, "be1");
	strcpy(v[0].name, "w1");
	assert_int_equal(merge_stat("# status,x,scur,svname,pxname,\n"
	    "UP,,12,w1,be1,\n", v, 1), 0);
	stat_is(&v[0], "UP", 12);
	/* HAProxy quotes text holding commas; those come after status. */
	assert_int_equal(merge_stat("# pxname,svname,scur,status,last_agt\n"
	    "be1,w1,4294967295,DRAIN (agent),\"ready,drain 50%, hi\",,\n", v, 1),
	    0);
	stat_is(&v[0], "DRAIN (agent)", 4294967295u);
}

/* A status longer than the field is cut, NUL-terminated. */
static void
test_stat_long_status(void **state)
{
	struct haproxy_server	v[1];
	char			 text[256], status[64];

	(void)state;
	memset(v, 0, sizeof(v));
	strcpy(v[0].backend, "be1");
	strcpy(v[0].name, "w1");
	memset(status, 'S', sizeof(status) - 1);
	status[sizeof(status) - 1] = '\0';
	snprintf(text, sizeof(text), "# pxname,svname,scur,status\n"
	    "be1,w1,1,%s\n", status);
	assert_int_equal(merge_stat(text, v, 1), 0);
	assert_int_equal(strlen(v[0].status), sizeof(v[0].status) - 1);
	assert_memory_equal(v[0].status, status, sizeof(v[0].status) - 1);
	assert_int_equal(v[0].connections, 1);
}

static void
test_stat_refused(void **state)
{
	static const char *const bad[] = {
		"",
		"\n",
		"pxname,svname,scur,status\nbe1,w1,1,UP\n",
		"#pxname,svname,scur,status\nbe1,w1,1,UP\n",
		"\n# pxname,svname,scur,status\nbe1,w1,1,UP\n",
		"# svname,scur,status\nbe1,w1,1,UP\n",
		"# pxname,scur,status\nbe1,w1,1,UP\n",
		"# pxname,svname,status\nbe1,w1,1,UP\n",
		"# pxname,svname,scur\nbe1,w1,1,UP\n",
		"# pxname svname scur status\nbe1 w1 1 UP\n",
		"Unknown command.\n",
		/* Lines short of a column read, bad connection counts. */
		"# pxname,svname,scur,status\nbe1,w1,1\n",
		"# pxname,svname,scur,status\nbe1\n",
		"# pxname,svname,scur,status\nbe1,w1,,UP\n",
		"# pxname,svname,scur,status\nbe1,w1,-1,UP\n",
		"# pxname,svname,scur,status\nbe1,w1,4294967296,UP\n",
		"# pxname,svname,scur,status\nbe1,w1,1 ,UP\n",
		"# pxname,svname,scur,status\nbe1,w1,0x1,UP\n",
		"# pxname,svname,scur,status\nbe1,w1,1,UP\nbe1,w2,1\n",
	};
	struct haproxy_server	v[1];
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(v, 0, sizeof(v));
		strcpy(v[0].backend, "be1");
		strcpy(v[0].name, "w1");
		if (merge_stat(bad[i], v, 1) != -1)
			fail_msg("accepted case %zu: \"%s\"", i, bad[i]);
	}
}

/* A line longer than the parser holds is refused, not cut. */
static void
test_stat_long_line(void **state)
{
	struct haproxy_server	 v[1];
	static char		 text[16384];
	size_t			 len;

	(void)state;
	memset(v, 0, sizeof(v));
	strcpy(v[0].backend, "be1");
	strcpy(v[0].name, "w1");
	len = (size_t)sprintf(text, "# pxname,svname,scur,status,desc\n"
	    "be1,w1,1,UP,");
	memset(text + len, 'd', 5000);
	text[len + 5000] = '\0';
	assert_int_equal(merge_stat(text, v, 1), -1);
	text[len + 2000] = '\0';
	assert_int_equal(merge_stat(text, v, 1), 0);
	stat_is(&v[0], "UP", 1);
}

/* ---- haproxy.cfg pool blocks ---- */

#define CFG_HEAD \
	"global\n" \
	"    stats socket /run/haproxy/admin.sock mode 600 level admin\n" \
	"    server-state-file /var/lib/haproxy/server-state\n" \
	"\n" \
	"defaults\n" \
	"    mode tcp\n" \
	"    load-server-state-from-file global\n" \
	"\n" \
	"frontend agents\n" \
	"    bind 192.0.2.10:1514\n" \
	"    default_backend workers_agents\n" \
	"\n" \
	"backend workers_agents\n" \
	"    balance leastconn\n" \
	"    option redispatch\n" \
	"    retries 2\n" \
	"    # Servers are written out in full.\n" \
	"    # clusterd pool begin\n"
#define CFG_WORKERS \
	"    server worker1 10.0.0.11:1514 check inter 2s fall 3 rise 2 " \
	    "weight 100 agent-check agent-port 1518 agent-inter 5s\n" \
	"    server worker2 10.0.0.12:1514 check inter 2s fall 3 rise 2 " \
	    "weight 100 agent-check agent-port 1518 agent-inter 5s\n"
#define CFG_MID \
	"    # clusterd pool end\n" \
	"\n" \
	"frontend enrollment\n" \
	"    bind 192.0.2.10:1515\n" \
	"    default_backend nodes_enrollment\n" \
	"\n" \
	"backend nodes_enrollment\n" \
	"    balance roundrobin\n" \
	"    # clusterd pool begin\n"
#define CFG_NODES \
	"    server master1 10.0.0.10:1515 check inter 2s fall 3 rise 2\n"
#define CFG_TAIL \
	"    # clusterd pool end\n" \
	"\n" \
	"listen stats\n" \
	"    mode http\n" \
	"    bind 127.0.0.1:8404\n"

#define NEW_WORKERS \
	"    server worker2 10.0.0.12:1514 check inter 2s fall 3 rise 2\n" \
	"    server worker3 10.0.0.13:1514 check inter 2s fall 3 rise 2\n" \
	"    server worker4 10.0.0.14:1514 check inter 2s fall 3 rise 2\n"

static const char CFG[] = CFG_HEAD CFG_WORKERS CFG_MID CFG_NODES CFG_TAIL;

/* Rewrite text (its exact length, no NUL) in backend; -1 or 0 with *out. */
static int
rewrite(const char *text, const char *backend, const char *servers,
    char **out)
{
	size_t	 len = strlen(text);
	char	*p = exact(text, len);
	int	 r;

	*out = (char *)p;		/* must be reset */
	r = haproxy_rewrite_pool(p, len, backend, servers, out);
	free(p);
	if (r == -1)
		assert_null(*out);
	return r;
}

static void
test_rewrite_template(void **state)
{
	char	*out, *out2;

	(void)state;
	assert_int_equal(rewrite(CFG, "workers_agents", NEW_WORKERS, &out), 0);
	assert_string_equal(out, CFG_HEAD NEW_WORKERS CFG_MID CFG_NODES
	    CFG_TAIL);
	assert_int_equal(rewrite(out, "nodes_enrollment", CFG_NODES CFG_WORKERS,
	    &out2), 0);
	assert_string_equal(out2, CFG_HEAD NEW_WORKERS CFG_MID CFG_NODES
	    CFG_WORKERS CFG_TAIL);
	free(out);
	free(out2);

	/* The same servers again: the same file. */
	assert_int_equal(rewrite(CFG, "workers_agents", CFG_WORKERS, &out), 0);
	assert_string_equal(out, CFG);
	free(out);
}

/* An empty pool leaves the markers next to each other, and fills again. */
static void
test_rewrite_empty_pool(void **state)
{
	char	*out, *out2;

	(void)state;
	assert_int_equal(rewrite(CFG, "workers_agents", "", &out), 0);
	assert_string_equal(out, CFG_HEAD CFG_MID CFG_NODES CFG_TAIL);
	assert_int_equal(rewrite(out, "workers_agents", CFG_WORKERS, &out2), 0);
	assert_string_equal(out2, CFG);
	free(out);
	free(out2);
}

/*
 * Layouts HAProxy reads: tabs, CRLF, a comment after the name, no final
 * newline, comment lines at the start of a line inside the section.
 */
static void
test_rewrite_layouts(void **state)
{
	static const struct {
		const char	*in, *out;
	} t[] = {
		{ "backend be1\n\t# clusterd pool begin\n\tserver a 1.1.1.1:1\n"
		    "\t# clusterd pool end\n",
		  "backend be1\n\t# clusterd pool begin\nNEW\n"
		    "\t# clusterd pool end\n" },
		{ "backend be1 # the agents\n  # clusterd pool begin\n"
		    "  # clusterd pool end",
		  "backend be1 # the agents\n  # clusterd pool begin\nNEW\n"
		    "  # clusterd pool end" },
		{ "backend be1\r\n    # clusterd pool begin\r\n    server a "
		    "1.1.1.1:1\r\n    # clusterd pool end\r\n",
		  "backend be1\r\n    # clusterd pool begin\r\nNEW\n"
		    "    # clusterd pool end\r\n" },
		{ "backend be1\n# a comment at column 0\n\n    balance first\n"
		    "#clusterd pool begin\n# clusterd pool begin\n  old\n"
		    "# clusterd pool end\n# clusterd pool end\nbackend be2\n",
		  "backend be1\n# a comment at column 0\n\n    balance first\n"
		    "#clusterd pool begin\n# clusterd pool begin\nNEW\n"
		    "# clusterd pool end\n# clusterd pool end\nbackend be2\n" },
		/* Other sections, and a longer name, are passed over. */
		{ "backend be10\n    # clusterd pool begin\n    # clusterd pool "
		    "end\nbackend be1\n    # clusterd pool begin\n    # "
		    "clusterd pool end\n",
		  "backend be10\n    # clusterd pool begin\n    # clusterd pool "
		    "end\nbackend be1\n    # clusterd pool begin\nNEW\n    # "
		    "clusterd pool end\n" },
		{ "# clusterd pool begin\n# clusterd pool end\nbackend be1\n"
		    "    # clusterd pool begin\n    # clusterd pool end\n",
		  "# clusterd pool begin\n# clusterd pool end\nbackend be1\n"
		    "    # clusterd pool begin\nNEW\n    # clusterd pool end\n" },
	};
	char	*out;
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (rewrite(t[i].in, "be1", "NEW\n", &out) != 0)
			fail_msg("case %zu refused", i);
		if (strcmp(out, t[i].out) != 0)
			fail_msg("case %zu:\n%s\nexpected:\n%s", i, out,
			    t[i].out);
		free(out);
	}
}

/* No rewrite without the backend and both its markers. */
static void
test_rewrite_refused(void **state)
{
	static const char *const bad[] = {
		"",
		"\n",
		"backend be1\n",
		"backend be1",
		"backend be2\n    # clusterd pool begin\n    # clusterd pool "
		    "end\n",
		"backend be10\n    # clusterd pool begin\n    # clusterd pool "
		    "end\n",
		"backend\n    # clusterd pool begin\n    # clusterd pool end\n",
		"listen be1\n    # clusterd pool begin\n    # clusterd pool "
		    "end\n",
		"frontend be1\n    # clusterd pool begin\n    # clusterd pool "
		    "end\n",
		" backend be1\n    # clusterd pool begin\n    # clusterd pool "
		    "end\n",
		"Backend be1\n    # clusterd pool begin\n    # clusterd pool "
		    "end\n",
		/* Markers missing, in the wrong order, or in the next section. */
		"backend be1\n    server a 1.1.1.1:1\n",
		"backend be1\n    # clusterd pool begin\n    server a 1.1.1.1:1\n",
		"backend be1\n    # clusterd pool begin",
		"backend be1\n    server a 1.1.1.1:1\n    # clusterd pool end\n",
		"backend be1\n    # clusterd pool end\n",
		"backend be1\n    # clusterd pool begin\nbackend be2\n"
		    "    # clusterd pool end\n",
		"backend be1\nbackend be2\n    # clusterd pool begin\n"
		    "    # clusterd pool end\n",
		"# clusterd pool begin\nbackend be1\n    # clusterd pool end\n",
		/*
		 * A line at column 0 that is not a comment ends the section
		 * as far as the rewrite knows: such a file is left alone.
		 */
		"backend be1\n    # clusterd pool begin\nserver a 1.1.1.1:1\n"
		    "    # clusterd pool end\n",
		"backend be1\n    # clusterd pool start\n    # clusterd pool "
		    "end\n",
	};
	char	*out, longname[HAPROXY_NAME_MAX + 32];
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (rewrite(bad[i], "be1", "NEW\n", &out) != -1) {
			free(out);
			fail_msg("accepted case %zu: \"%s\"", i, bad[i]);
		}
	/* A backend name longer than any HAProxy name it could match. */
	memset(longname, 'b', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(rewrite(CFG, longname, "NEW\n", &out), -1);
	assert_int_equal(rewrite(CFG, "workers", "NEW\n", &out), -1);
	assert_int_equal(rewrite(CFG, "", "NEW\n", &out), -1);
}

/* ---- the admin socket ---- */

enum peer_mode {
	PEER_ANSWER,		/* answer, close */
	PEER_PIECES,		/* answer in three writes, 100 ms apart */
	PEER_BIG,		/* big bytes of a pattern, close */
	PEER_SILENT,		/* read until the client gives up */
	PEER_NOTHING		/* close without a byte */
};

struct peer {
	char		 dir[40];
	char		 path[64];
	int		 lfd;
	enum peer_mode	 mode;
	const char	*answer;
	size_t		 big;
	char		 got[256];	/* the command line received */
	int		 started;
	pthread_t	 thread;
};

static int
send_all(int fd, const char *p, size_t n)
{
	ssize_t	r;

	while (n > 0) {
		if ((r = send(fd, p, n, MSG_NOSIGNAL)) <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static void *
peer_main(void *arg)
{
	struct peer	*p = arg;
	size_t		 n = 0, len, part, off;
	char		 c, *big;
	int		 fd, i;

	if ((fd = accept(p->lfd, NULL, NULL)) == -1)
		return NULL;
	/* One command line, as HAProxy's CLI reads it. */
	while (n < sizeof(p->got) - 1 && read(fd, &c, 1) == 1) {
		p->got[n++] = c;
		if (c == '\n')
			break;
	}
	p->got[n] = '\0';
	switch (p->mode) {
	case PEER_ANSWER:
		(void)send_all(fd, p->answer, strlen(p->answer));
		break;
	case PEER_PIECES:
		len = strlen(p->answer);
		part = len / 3 + 1;
		for (off = 0, i = 0; off < len; off += part, i++) {
			if (i > 0)
				nanosleep(&(struct timespec){ 0, 100000000 },
				    NULL);
			(void)send_all(fd, p->answer + off,
			    len - off < part ? len - off : part);
		}
		break;
	case PEER_BIG:
		if ((big = malloc(p->big)) != NULL) {
			for (off = 0; off < p->big; off++)
				big[off] = (char)('a' + off % 26);
			(void)send_all(fd, big, p->big);
			free(big);
		}
		break;
	case PEER_SILENT:
		while (read(fd, &c, 1) > 0)
			;
		break;
	case PEER_NOTHING:
		break;
	}
	close(fd);
	return NULL;
}

static int
peer_setup(void **state)
{
	struct peer	*p;

	p = calloc(1, sizeof(*p));
	assert_non_null(p);
	snprintf(p->dir, sizeof(p->dir), "/tmp/test_haproxy.XXXXXX");
	assert_non_null(mkdtemp(p->dir));
	snprintf(p->path, sizeof(p->path), "%s/admin.sock", p->dir);
	p->lfd = -1;
	*state = p;
	return 0;
}

static int
peer_teardown(void **state)
{
	struct peer	*p = *state;

	if (p->started)
		pthread_join(p->thread, NULL);
	if (p->lfd != -1)
		close(p->lfd);
	unlink(p->path);
	rmdir(p->dir);
	free(p);
	return 0;
}

/* Listen on p->path and serve one connection in a thread. */
static void
peer_start(struct peer *p, enum peer_mode mode, const char *answer)
{
	struct sockaddr_un	sun;

	p->mode = mode;
	p->answer = answer;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", p->path);
	assert_true((p->lfd = socket(AF_UNIX, SOCK_STREAM, 0)) != -1);
	assert_int_equal(bind(p->lfd, (struct sockaddr *)&sun, sizeof(sun)),
	    0);
	assert_int_equal(listen(p->lfd, 4), 0);
	assert_int_equal(pthread_create(&p->thread, NULL, peer_main, p), 0);
	p->started = 1;
}

static void
peer_wait(struct peer *p)
{
	assert_int_equal(pthread_join(p->thread, NULL), 0);
	p->started = 0;
}

static double
now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
test_command_answer(void **state)
{
	struct peer	*p = *state;
	char		*ans, err[256];

	peer_start(p, PEER_ANSWER, STATE_REAL);
	strcpy(err, "untouched");
	assert_int_equal(haproxy_command(p->path, "show servers state", &ans,
	    err, sizeof(err)), 0);
	peer_wait(p);
	assert_string_equal(p->got, "show servers state\n");
	assert_string_equal(ans, STATE_REAL);
	assert_string_equal(err, "untouched");
	free(ans);
}

/* The whole answer, up to the peer's close, not the first read. */
static void
test_command_pieces(void **state)
{
	struct peer	*p = *state;
	char		*ans, err[256];

	peer_start(p, PEER_PIECES, STAT_ALL_REAL);
	assert_int_equal(haproxy_command(p->path, "show stat", &ans, err,
	    sizeof(err)), 0);
	peer_wait(p);
	assert_string_equal(p->got, "show stat\n");
	assert_string_equal(ans, STAT_ALL_REAL);
	free(ans);
}

/* A command HAProxy answers with nothing ("set server ... state ..."). */
static void
test_command_empty_answer(void **state)
{
	struct peer	*p = *state;
	char		*ans, err[256];

	peer_start(p, PEER_NOTHING, NULL);
	assert_int_equal(haproxy_command(p->path,
	    "set server workers_agents/w1 state drain", &ans, err,
	    sizeof(err)), 0);
	peer_wait(p);
	assert_string_equal(p->got, "set server workers_agents/w1 state "
	    "drain\n");
	assert_non_null(ans);
	assert_string_equal(ans, "");
	free(ans);
}

static void
test_command_big_answer(void **state)
{
	struct peer	*p = *state;
	char		*ans, err[256];
	size_t		 i;

	p->big = 1024 * 1024 + 7;
	peer_start(p, PEER_BIG, NULL);
	assert_int_equal(haproxy_command(p->path, "show stat", &ans, err,
	    sizeof(err)), 0);
	peer_wait(p);
	assert_int_equal(strlen(ans), p->big);
	for (i = 0; i < p->big; i++)
		if (ans[i] != (char)('a' + i % 26))
			fail_msg("byte %zu differs", i);
	free(ans);
}

static void
test_command_too_long(void **state)
{
	struct peer	*p = *state;
	char		*ans = (char *)state, err[256];

	p->big = HAPROXY_ANSWER_MAX + 1;
	peer_start(p, PEER_BIG, NULL);
	assert_int_equal(haproxy_command(p->path, "show stat", &ans, err,
	    sizeof(err)), -1);
	peer_wait(p);
	assert_null(ans);
	assert_string_equal(err, "answer too long");
}

/* A peer that never answers: an error within the 2 s bound, not a hang. */
static void
test_command_timeout(void **state)
{
	struct peer	*p = *state;
	char		*ans = (char *)state, err[256], want[256];
	double		 t0, dt;

	peer_start(p, PEER_SILENT, NULL);
	t0 = now();
	assert_int_equal(haproxy_command(p->path, "show servers state", &ans,
	    err, sizeof(err)), -1);
	dt = now() - t0;
	peer_wait(p);
	assert_null(ans);
	snprintf(want, sizeof(want), "%s: read: no answer in time", p->path);
	assert_string_equal(err, want);
	if (dt < 1.5 || dt > 4.0)
		fail_msg("gave up after %.2f s", dt);
}

static void
test_command_no_socket(void **state)
{
	struct peer	*p = *state;
	char		*ans = (char *)state, err[256], want[256];
	int		 fd;

	/* Nothing at the path. */
	assert_int_equal(haproxy_command(p->path, "show stat", &ans, err,
	    sizeof(err)), -1);
	assert_null(ans);
	snprintf(want, sizeof(want), "%s: %s", p->path, strerror(ENOENT));
	assert_string_equal(err, want);

	/* A file that is not a socket. */
	assert_true((fd = open(p->path, O_WRONLY | O_CREAT, 0600)) != -1);
	close(fd);
	ans = (char *)state;
	assert_int_equal(haproxy_command(p->path, "show stat", &ans, err,
	    sizeof(err)), -1);
	assert_null(ans);
	snprintf(want, sizeof(want), "%s: %s", p->path,
	    strerror(ECONNREFUSED));
	assert_string_equal(err, want);
	unlink(p->path);

	/* A socket no one listens on any more. */
	peer_start(p, PEER_NOTHING, NULL);
	assert_int_equal(haproxy_command(p->path, "show info", &ans, err,
	    sizeof(err)), 0);
	free(ans);
	peer_wait(p);
	close(p->lfd);
	p->lfd = -1;
	ans = (char *)state;
	assert_int_equal(haproxy_command(p->path, "show info", &ans, err,
	    sizeof(err)), -1);
	assert_null(ans);
	assert_string_equal(err, want);

	/* A path longer than a unix socket's. */
	{
		char	longpath[200];

		memset(longpath, 'p', sizeof(longpath) - 1);
		longpath[0] = '/';
		longpath[sizeof(longpath) - 1] = '\0';
		ans = (char *)state;
		assert_int_equal(haproxy_command(longpath, "show info", &ans,
		    err, sizeof(err)), -1);
		assert_null(ans);
		assert_string_equal(err, "socket path too long");
	}
}

/* The error is cut to the caller's buffer. */
static void
test_command_small_err(void **state)
{
	struct peer	*p = *state;
	char		*ans, err[16];

	memset(err, 'Z', sizeof(err));
	assert_int_equal(haproxy_command(p->path, "show stat", &ans, err, 8),
	    -1);
	assert_int_equal(strlen(err), 7);
	assert_memory_equal(err, p->path, 7);
	assert_int_equal(err[8], 'Z');
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_state_sample),
		cmocka_unit_test(test_state_real),
		cmocka_unit_test(test_state_no_servers),
		cmocka_unit_test(test_state_columns_by_name),
		cmocka_unit_test(test_state_limits),
		cmocka_unit_test(test_state_many),
		cmocka_unit_test(test_state_length_bound),
		cmocka_unit_test(test_state_refused),
		cmocka_unit_test(test_state_long_line),
		cmocka_unit_test(test_admin_name),
		cmocka_unit_test(test_stat_real),
		cmocka_unit_test(test_stat_matching),
		cmocka_unit_test(test_stat_columns),
		cmocka_unit_test(test_stat_long_status),
		cmocka_unit_test(test_stat_refused),
		cmocka_unit_test(test_stat_long_line),
		cmocka_unit_test(test_rewrite_template),
		cmocka_unit_test(test_rewrite_empty_pool),
		cmocka_unit_test(test_rewrite_layouts),
		cmocka_unit_test(test_rewrite_refused),
		cmocka_unit_test_setup_teardown(test_command_answer,
		    peer_setup, peer_teardown),
		cmocka_unit_test_setup_teardown(test_command_pieces,
		    peer_setup, peer_teardown),
		cmocka_unit_test_setup_teardown(test_command_empty_answer,
		    peer_setup, peer_teardown),
		cmocka_unit_test_setup_teardown(test_command_big_answer,
		    peer_setup, peer_teardown),
		cmocka_unit_test_setup_teardown(test_command_too_long,
		    peer_setup, peer_teardown),
		cmocka_unit_test_setup_teardown(test_command_timeout,
		    peer_setup, peer_teardown),
		cmocka_unit_test_setup_teardown(test_command_no_socket,
		    peer_setup, peer_teardown),
		cmocka_unit_test_setup_teardown(test_command_small_err,
		    peer_setup, peer_teardown),
	};

	setvbuf(stdout, NULL, _IOLBF, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
