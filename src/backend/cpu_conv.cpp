// Convolutions of the CPU backend on oneDNN's convolution primitives, over regula's own layouts:
// activations stay NHWC, and the small kernel is reordered between Keras's (kh, kw, in_c, out_c)
// — oneDNN's `hwio` — and the blocked layout the primitive chooses (`format_tag::any`), once a
// call. Against the earlier im2col + sgemm path, on the seed model's 64 → 128 convolution at batch
// 128 (2-core AMD EPYC with AVX-512, alternating runs of a noisy machine): float32 forward 8.4–9.2
// ms against 10.1–12.1, backward about the same (19–22 ms against 19–27); bfloat16 forward 4.7–5.4
// ms against 6.5–7.8, backward 12.4–13.5 against 12.1–16.5. The first convolution's forward
// (in_c = 1) takes 1.1–1.4 ms against 2.1 for the earlier direct kernel; its float32 weight
// gradient stays on that kernel (cpu_conv_small_patch.cpp), which beats oneDNN's NHWC one there
// (2.3 against 7.5 ms). oneDNN's backward data for in_c = 1 is slower than im2col's was (5.5
// against 2.2 ms); a first layer never needs it.
//
// Winograd (ConvolutionAlgorithm::automatic, the default): float32 3×3 stride-1 convolutions with
// channels in multiples of 16 run forward and backward data on oneDNN's Winograd F(4×4, 3×3) where
// the CPU has it (AVX-512), and backward weights on the direct kernel over the same blocked
// layout (nChw16c). Those primitives do not take NHWC, so the activations are reordered in and
// out around them (0.1–0.5 ms each on the seed model's second convolution); grad_dst once for
// both backward primitives (conv2d_backward). Standalone on that convolution (same machine):
// forward 6.2 against 8.3 ms direct on NHWC, backward data 6.8 against 8.9, backward weights
// 8.0 (direct, blocked) against 10.3 (direct, NHWC) and 9.2 (Winograd).
//
// bfloat16 (a kernel's compute dtype): the source (or grad_dst) and the kernel are rounded to
// bfloat16 by regula's own rounding, so results match the reference's rounding, and the primitive
// multiplies in bfloat16 (AVX512_BF16, AMX) and writes float32. The bias gradient sums the
// unrounded grad_dst, as the reference does.
//
// Each geometry's primitives are made once and kept; their scratch memory is the backend's, so a
// steady-state step allocates nothing. oneDNN's kernels split the work the same way for the same
// thread count (part of the key), so results are deterministic for a thread count.
#include <omp.h>

#include <algorithm>
#include <dnnl.hpp>
#include <map>
#include <memory>
#include <tuple>
#include <unordered_map>

#include "regula/backend/context.hpp"
#include "regula/error.hpp"
#include "src/backend/cpu_backend.hpp"
#include "src/backend/cpu_conv_small_patch.hpp"
#include "src/backend/onednn_engine.hpp"
#include "src/backend/thread_partials.hpp"

namespace regula::backend {
namespace {

using dims = dnnl::memory::dims;
using data_type = dnnl::memory::data_type;
using format_tag = dnnl::memory::format_tag;

// Below this many values a parallel region costs more than it saves.
constexpr int64_t kParallelThreshold = 32768;

/// What makes a set of primitives: the geometry, the precision, whether the forward pass adds a
/// bias, the thread count the kernels were planned for and the algorithm setting.
using ConvolutionKey = std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t,
                                  int64_t, int64_t, int64_t, int64_t, bool, bool, int, ConvolutionAlgorithm>;

ConvolutionKey key_of(const Conv2DGeometry& g, bool bfloat16, bool bias) {
  return {g.batch,    g.in_h,     g.in_w,     g.in_c,    g.out_h,    g.out_w, g.out_c,  g.kernel_h,
          g.kernel_w, g.stride_h, g.stride_w, g.pad_top, g.pad_left, bfloat16, bias,    omp_get_max_threads(),
          context().convolution_algorithm()};
}

/// The padding after the image along one axis that makes oneDNN's output length the given one
/// (Keras's "same" puts the odd pad there; "valid" may leave input unread, which is padding 0).
int64_t pad_after(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t pad_before) {
  return std::max<int64_t>((out - 1) * stride + kernel - in - pad_before, 0);
}

/// Attributes that hand the scratch memory to the caller (the backend's buffer).
dnnl::primitive_attr user_scratchpad() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

/// A reorder between two layouts and its description (which holds both layouts and its scratch size).
struct Reorder {
  dnnl::reorder::primitive_desc pd;
  dnnl::reorder primitive;
};

Reorder make_reorder(const dnnl::memory::desc& from, const dnnl::memory::desc& to) {
  dnnl::engine& engine = cpu_engine();
  Reorder r;
  r.pd = dnnl::reorder::primitive_desc(engine, from, engine, to, user_scratchpad());
  r.primitive = dnnl::reorder(r.pd);
  return r;
}

/// An activation operand of a primitive: regula's NHWC array as is, or, where the primitive
/// works on another layout (Winograd's nChw16c), the reorder between the two.
struct ActivationOperand {
  bool reordered = false;
  Reorder reorder;
};

/// The operand for a primitive that reads `nhwc` and wants `wanted`.
ActivationOperand operand_into(const dnnl::memory::desc& nhwc, const dnnl::memory::desc& wanted) {
  if (nhwc == wanted) return {};
  return {true, make_reorder(nhwc, wanted)};
}
/// The operand for a primitive that writes `produced`, to end up as `nhwc`.
ActivationOperand operand_out_of(const dnnl::memory::desc& produced, const dnnl::memory::desc& nhwc) {
  if (nhwc == produced) return {};
  return {true, make_reorder(produced, nhwc)};
}

}  // namespace

/// The three primitives of one convolution geometry and the reorders around them. The forward
/// primitive is made on the first forward pass and the backward ones on the first backward pass,
/// so inference compiles no backward kernels; the forward description alone is the backward
/// primitives' hint. Both backward primitives read grad_dst in the same layout
/// (`backward_grad_dst`), so that conv2d_backward stages it once.
struct ConvolutionPrimitives {
  dnnl::memory::desc src, dst, grad_src, grad_dst, kernel, grad_kernel, bias, any_kernel, any_grad_kernel;
  /// The activations' layouts the primitives are asked for: NHWC, or `any` for Winograd.
  dnnl::memory::desc asked_src, asked_dst, asked_grad_src, asked_grad_dst;
  dnnl::algorithm algorithm = dnnl::algorithm::convolution_direct;
  dims strides, pad_l, pad_r;
  dnnl::convolution_forward::primitive_desc forward_pd;
  bool forward_made = false;
  dnnl::convolution_forward forward;
  Reorder kernel_to_forward;
  ActivationOperand forward_src, forward_dst;
  bool backward_made = false;
  dnnl::convolution_backward_data::primitive_desc backward_data_pd;
  dnnl::convolution_backward_data backward_data;
  Reorder kernel_to_backward_data;
  ActivationOperand backward_grad_dst, backward_data_grad_src;
  dnnl::convolution_backward_weights::primitive_desc backward_weights_pd;
  dnnl::convolution_backward_weights backward_weights;
  Reorder grad_kernel_from_backward;
  ActivationOperand backward_weights_src;
};

namespace {

/// Whether `g` is a convolution oneDNN's Winograd F(4×4, 3×3) takes: float32, a 3×3 kernel at
/// stride 1, channels in multiples of 16 (its blocks). oneDNN 2.6 has it on AVX-512 only; where
/// the CPU lacks it, making its primitive fails and the direct one is used.
bool winograd_candidate(const Conv2DGeometry& g, bool bfloat16) {
  return !bfloat16 && context().convolution_algorithm() == ConvolutionAlgorithm::automatic && g.kernel_h == 3 &&
         g.kernel_w == 3 && g.stride_h == 1 && g.stride_w == 1 && g.in_c % 16 == 0 && g.out_c % 16 == 0;
}

dnnl::convolution_forward::primitive_desc forward_description(const ConvolutionPrimitives& c) {
  return dnnl::convolution_forward::primitive_desc(
      dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training, c.algorithm, c.asked_src, c.any_kernel,
                                      c.bias, c.asked_dst, c.strides, c.pad_l, c.pad_r),
      user_scratchpad(), cpu_engine());
}

ConvolutionPrimitives describe_convolution(const Conv2DGeometry& g, bool bfloat16, bool bias) {
  const data_type operand = bfloat16 ? data_type::bf16 : data_type::f32;
  const dims src_dims{g.batch, g.in_c, g.in_h, g.in_w};
  const dims dst_dims{g.batch, g.out_c, g.out_h, g.out_w};
  const dims kernel_dims{g.out_c, g.in_c, g.kernel_h, g.kernel_w};
  ConvolutionPrimitives c;
  c.strides = {g.stride_h, g.stride_w};
  c.pad_l = {g.pad_top, g.pad_left};
  c.pad_r = {pad_after(g.in_h, g.out_h, g.kernel_h, g.stride_h, g.pad_top),
             pad_after(g.in_w, g.out_w, g.kernel_w, g.stride_w, g.pad_left)};
  c.src = dnnl::memory::desc(src_dims, operand, format_tag::nhwc);
  c.dst = dnnl::memory::desc(dst_dims, data_type::f32, format_tag::nhwc);
  c.grad_src = dnnl::memory::desc(src_dims, data_type::f32, format_tag::nhwc);
  c.grad_dst = dnnl::memory::desc(dst_dims, operand, format_tag::nhwc);
  c.kernel = dnnl::memory::desc(kernel_dims, operand, format_tag::hwio);
  c.grad_kernel = dnnl::memory::desc(kernel_dims, data_type::f32, format_tag::hwio);
  c.bias = bias ? dnnl::memory::desc({g.out_c}, data_type::f32, format_tag::x) : dnnl::memory::desc();
  c.any_kernel = dnnl::memory::desc(kernel_dims, operand, format_tag::any);
  c.any_grad_kernel = dnnl::memory::desc(kernel_dims, data_type::f32, format_tag::any);
  if (winograd_candidate(g, bfloat16)) {
    c.algorithm = dnnl::algorithm::convolution_winograd;
    c.asked_src = dnnl::memory::desc(src_dims, operand, format_tag::any);
    c.asked_dst = dnnl::memory::desc(dst_dims, data_type::f32, format_tag::any);
    c.asked_grad_src = c.asked_src;
    c.asked_grad_dst = c.asked_dst;
    try {
      c.forward_pd = forward_description(c);
      return c;
    } catch (const dnnl::error&) {
      // No Winograd on this CPU (or for this shape): the direct convolution below.
    }
  }
  c.algorithm = dnnl::algorithm::convolution_direct;
  c.asked_src = c.src;
  c.asked_dst = c.dst;
  c.asked_grad_src = c.grad_src;
  c.asked_grad_dst = c.grad_dst;
  c.forward_pd = forward_description(c);
  return c;
}

void make_forward(ConvolutionPrimitives& c) {
  c.forward = dnnl::convolution_forward(c.forward_pd);
  c.kernel_to_forward = make_reorder(c.kernel, c.forward_pd.weights_desc());
  c.forward_src = operand_into(c.src, c.forward_pd.src_desc());
  c.forward_dst = operand_out_of(c.forward_pd.dst_desc(), c.dst);
  c.forward_made = true;
}

void make_backward(ConvolutionPrimitives& c) {
  dnnl::engine& engine = cpu_engine();
  const dnnl::primitive_attr attr = user_scratchpad();
  c.backward_data_pd = dnnl::convolution_backward_data::primitive_desc(
      dnnl::convolution_backward_data::desc(c.algorithm, c.asked_grad_src, c.any_kernel, c.asked_grad_dst, c.strides,
                                            c.pad_l, c.pad_r),
      attr, engine, c.forward_pd);
  c.backward_data = dnnl::convolution_backward_data(c.backward_data_pd);
  c.kernel_to_backward_data = make_reorder(c.kernel, c.backward_data_pd.weights_desc());
  c.backward_grad_dst = operand_into(c.grad_dst, c.backward_data_pd.diff_dst_desc());
  c.backward_data_grad_src = operand_out_of(c.backward_data_pd.diff_src_desc(), c.grad_src);
  // The weight gradient is direct in any case: on the blocked layouts Winograd's primitives use,
  // oneDNN's direct kernel beats its Winograd one (8.0 against 9.2 ms on the seed model's second
  // convolution, 2-core AVX-512 AMD EPYC) and both read the operands backward data has staged.
  const bool blocked = c.algorithm == dnnl::algorithm::convolution_winograd;
  c.backward_weights_pd = dnnl::convolution_backward_weights::primitive_desc(
      dnnl::convolution_backward_weights::desc(
          dnnl::algorithm::convolution_direct, blocked ? c.forward_pd.src_desc() : c.asked_src, c.any_grad_kernel,
          blocked ? c.backward_data_pd.diff_dst_desc() : c.asked_grad_dst, c.strides, c.pad_l, c.pad_r),
      attr, engine, c.forward_pd);
  c.backward_weights = dnnl::convolution_backward_weights(c.backward_weights_pd);
  c.grad_kernel_from_backward = make_reorder(c.backward_weights_pd.diff_weights_desc(), c.grad_kernel);
  c.backward_weights_src = operand_into(c.src, c.backward_weights_pd.src_desc());
  c.backward_made = true;
}

std::string describe(const Conv2DGeometry& g) {
  return "batch " + std::to_string(g.batch) + ", input " + std::to_string(g.in_h) + "x" + std::to_string(g.in_w) +
         "x" + std::to_string(g.in_c) + ", output " + std::to_string(g.out_h) + "x" + std::to_string(g.out_w) + "x" +
         std::to_string(g.out_c) + ", kernel " + std::to_string(g.kernel_h) + "x" + std::to_string(g.kernel_w) +
         ", strides " + std::to_string(g.stride_h) + "x" + std::to_string(g.stride_w) + ", padding " +
         std::to_string(g.pad_top) + "," + std::to_string(g.pad_left);
}

/// What a pass needs of a convolution.
enum class Pass { forward, backward };

/// The primitives for `g` that `pass` runs, made on first use and kept for the life of the thread
/// (one set per geometry, batch size included: a training run makes a handful).
const ConvolutionPrimitives& convolution_for(const Conv2DGeometry& g, bool bfloat16, bool bias, Pass pass) {
  static thread_local std::map<ConvolutionKey, ConvolutionPrimitives> convolutions;
  const ConvolutionKey key = key_of(g, bfloat16, bias);
  try {
    auto found = convolutions.find(key);
    if (found == convolutions.end()) found = convolutions.emplace(key, describe_convolution(g, bfloat16, bias)).first;
    ConvolutionPrimitives& c = found->second;
    if (pass == Pass::forward && !c.forward_made) make_forward(c);
    if (pass == Pass::backward && !c.backward_made) make_backward(c);
    return c;
  } catch (const dnnl::error& e) {
    throw ValueError("conv2d: oneDNN has no convolution for " + describe(g) + " (" + to_string(g.compute) +
                     "): " + e.what());
  }
}

/// A memory object over caller-owned data (oneDNN takes a non-const handle; inputs are not written).
dnnl::memory wrap(const dnnl::memory::desc& desc, const void* data) {
  return dnnl::memory(desc, cpu_engine(), const_cast<void*>(data));
}

bool computes_in_bfloat16(const Conv2DGeometry& g) {
  return g.compute == ComputeDtype::bfloat16 && cpu_has_bfloat16();
}

int64_t src_size(const Conv2DGeometry& g) { return g.batch * g.in_h * g.in_w * g.in_c; }
int64_t dst_size(const Conv2DGeometry& g) { return g.batch * g.out_h * g.out_w * g.out_c; }
int64_t kernel_size(const Conv2DGeometry& g) { return g.kernel_h * g.kernel_w * g.in_c * g.out_c; }

/// grad_bias[c] = Σ over rows of grad_dst(row, c), with per-thread partials added in thread order.
void sum_rows(int64_t rows, int64_t channels, const float* grad_dst, std::vector<float>& partial_buffer,
              float* grad_bias) {
  const int threads = rows * channels > kParallelThreshold ? omp_get_max_threads() : 1;
  float* partials = zeroed_thread_partials(partial_buffer, channels, threads);
#pragma omp parallel num_threads(threads)
  {
    float* acc = partials + channels * omp_get_thread_num();
#pragma omp for schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
      const float* gd = grad_dst + r * channels;
#pragma omp simd
      for (int64_t c = 0; c < channels; ++c) acc[c] += gd[c];
    }
  }
  add_thread_partials(partials, channels, threads, 0, channels, grad_bias);
}

/// A 64-byte aligned block of at least `bytes` bytes in `block` (grown, never shrunk).
void* aligned_scratch(std::shared_ptr<Storage>& block, size_t bytes) {
  const int64_t floats = static_cast<int64_t>((bytes + sizeof(float) - 1) / sizeof(float));
  if (!block || block->capacity() < floats) block = host_allocator().allocate(std::max<int64_t>(floats, 1));
  return block->data();
}

/// Runs `primitive` with `arguments` and its scratch memory from `scratchpad`, and waits for it.
void run(const dnnl::primitive& primitive, const dnnl::primitive_desc_base& pd,
         std::unordered_map<int, dnnl::memory> arguments, std::shared_ptr<Storage>& scratchpad) {
  const dnnl::memory::desc scratchpad_desc = pd.scratchpad_desc();
  if (scratchpad_desc.get_size() > 0)
    arguments.emplace(DNNL_ARG_SCRATCHPAD, wrap(scratchpad_desc, aligned_scratch(scratchpad, scratchpad_desc.get_size())));
  primitive.execute(cpu_stream(), arguments);
  cpu_stream().wait();
}

/// `data` (NHWC) as the operand `op` wants: itself, or reordered into `buffer`.
const void* staged_in(const ActivationOperand& op, const void* data, std::shared_ptr<Storage>& buffer,
                      std::shared_ptr<Storage>& scratchpad) {
  if (!op.reordered) return data;
  void* staged = aligned_scratch(buffer, op.reorder.pd.dst_desc().get_size());
  run(op.reorder.primitive, op.reorder.pd,
      {{DNNL_ARG_FROM, wrap(op.reorder.pd.src_desc(), data)}, {DNNL_ARG_TO, wrap(op.reorder.pd.dst_desc(), staged)}},
      scratchpad);
  return staged;
}

/// Where a primitive writes the output that `op` describes and that ends up at `data` (NHWC):
/// `data` itself, or `buffer`, from which staged_out moves it.
void* output_place(const ActivationOperand& op, void* data, std::shared_ptr<Storage>& buffer) {
  return op.reordered ? aligned_scratch(buffer, op.reorder.pd.src_desc().get_size()) : data;
}
void staged_out(const ActivationOperand& op, const void* staged, void* data, std::shared_ptr<Storage>& scratchpad) {
  if (!op.reordered) return;
  run(op.reorder.primitive, op.reorder.pd,
      {{DNNL_ARG_FROM, wrap(op.reorder.pd.src_desc(), staged)}, {DNNL_ARG_TO, wrap(op.reorder.pd.dst_desc(), data)}},
      scratchpad);
}

}  // namespace

const void* CpuBackend::blocked_kernel(const dnnl::reorder& reorder, const dnnl::reorder::primitive_desc& pd,
                                       const float* kernel, bool bfloat16, int64_t count) {
  const void* user = bfloat16 ? static_cast<const void*>(to_bfloat16(kernel, count, bfloat16_kernel_)) : kernel;
  void* blocked = aligned_scratch(conv_kernel_, pd.dst_desc().get_size());
  run(reorder, pd, {{DNNL_ARG_FROM, wrap(pd.src_desc(), user)}, {DNNL_ARG_TO, wrap(pd.dst_desc(), blocked)}},
      conv_scratchpad_);
  return blocked;
}

void CpuBackend::conv2d_forward(const Conv2DGeometry& g, const float* src, const float* kernel, const float* bias,
                                float* dst) {
  if (dst_size(g) == 0) return;
  const bool bfloat16 = computes_in_bfloat16(g);
  const ConvolutionPrimitives& c = convolution_for(g, bfloat16, bias != nullptr, Pass::forward);
  const void* kernel_operand =
      blocked_kernel(c.kernel_to_forward.primitive, c.kernel_to_forward.pd, kernel, bfloat16, kernel_size(g));
  const void* operand = bfloat16 ? static_cast<const void*>(to_bfloat16(src, src_size(g), bfloat16_a_)) : src;
  operand = staged_in(c.forward_src, operand, conv_staging_[0], conv_scratchpad_);
  void* output = output_place(c.forward_dst, dst, conv_staging_[1]);
  std::unordered_map<int, dnnl::memory> arguments{
      {DNNL_ARG_SRC, wrap(c.forward_pd.src_desc(), operand)},
      {DNNL_ARG_WEIGHTS, wrap(c.forward_pd.weights_desc(), kernel_operand)},
      {DNNL_ARG_DST, wrap(c.forward_pd.dst_desc(), output)}};
  if (bias != nullptr) arguments.emplace(DNNL_ARG_BIAS, wrap(c.bias, bias));
  run(c.forward, c.forward_pd, std::move(arguments), conv_scratchpad_);
  staged_out(c.forward_dst, output, dst, conv_scratchpad_);
}

const void* CpuBackend::conv_grad_operand(const ConvolutionPrimitives& c, const Conv2DGeometry& g,
                                          const float* grad_dst) {
  const void* operand = computes_in_bfloat16(g)
                            ? static_cast<const void*>(to_bfloat16(grad_dst, dst_size(g), bfloat16_b_))
                            : grad_dst;
  return staged_in(c.backward_grad_dst, operand, conv_staging_[0], conv_scratchpad_);
}

void CpuBackend::conv_backward_data_from(const ConvolutionPrimitives& c, const Conv2DGeometry& g,
                                         const void* grad_operand, const float* kernel, float* grad_src) {
  const void* kernel_operand = blocked_kernel(c.kernel_to_backward_data.primitive, c.kernel_to_backward_data.pd, kernel,
                                              computes_in_bfloat16(g), kernel_size(g));
  void* output = output_place(c.backward_data_grad_src, grad_src, conv_staging_[1]);
  run(c.backward_data, c.backward_data_pd,
      {{DNNL_ARG_DIFF_DST, wrap(c.backward_data_pd.diff_dst_desc(), grad_operand)},
       {DNNL_ARG_WEIGHTS, wrap(c.backward_data_pd.weights_desc(), kernel_operand)},
       {DNNL_ARG_DIFF_SRC, wrap(c.backward_data_pd.diff_src_desc(), output)}},
      conv_scratchpad_);
  staged_out(c.backward_data_grad_src, output, grad_src, conv_scratchpad_);
}

void CpuBackend::conv_backward_weights_from(const ConvolutionPrimitives& c, const Conv2DGeometry& g, const float* src,
                                            const void* grad_operand, const float* grad_dst, float* grad_kernel,
                                            float* grad_bias) {
  const void* src_operand =
      computes_in_bfloat16(g) ? static_cast<const void*>(to_bfloat16(src, src_size(g), bfloat16_a_)) : src;
  src_operand = staged_in(c.backward_weights_src, src_operand, conv_staging_[1], conv_scratchpad_);
  const dnnl::memory::desc& blocked_desc = c.backward_weights_pd.diff_weights_desc();
  void* blocked = aligned_scratch(conv_kernel_, blocked_desc.get_size());
  run(c.backward_weights, c.backward_weights_pd,
      {{DNNL_ARG_SRC, wrap(c.backward_weights_pd.src_desc(), src_operand)},
       {DNNL_ARG_DIFF_DST, wrap(c.backward_weights_pd.diff_dst_desc(), grad_operand)},
       {DNNL_ARG_DIFF_WEIGHTS, wrap(blocked_desc, blocked)}},
      conv_scratchpad_);
  run(c.grad_kernel_from_backward.primitive, c.grad_kernel_from_backward.pd,
      {{DNNL_ARG_FROM, wrap(blocked_desc, blocked)}, {DNNL_ARG_TO, wrap(c.grad_kernel, grad_kernel)}},
      conv_scratchpad_);
  // The bias gradient is summed here, not by the primitive: oneDNN 2.6 sums it for NHWC in
  // baseline SSE code, 5 % of the seed model's training step, and in bfloat16 the bias gradient
  // sums the unrounded grad_dst, not the primitive's operand.
  if (grad_bias != nullptr) sum_rows(g.batch * g.out_h * g.out_w, g.out_c, grad_dst, partial_, grad_bias);
}

void CpuBackend::conv2d_backward_data(const Conv2DGeometry& g, const float* grad_dst, const float* kernel,
                                      float* grad_src) {
  if (src_size(g) == 0) return;
  if (dst_size(g) == 0) {
    std::fill(grad_src, grad_src + src_size(g), 0.0f);
    return;
  }
  const ConvolutionPrimitives& c = convolution_for(g, computes_in_bfloat16(g), false, Pass::backward);
  conv_backward_data_from(c, g, conv_grad_operand(c, g, grad_dst), kernel, grad_src);
}

void CpuBackend::conv2d_backward_weights(const Conv2DGeometry& g, const float* src, const float* grad_dst,
                                         float* grad_kernel, float* grad_bias) {
  if (dst_size(g) == 0 || src_size(g) == 0) {
    std::fill(grad_kernel, grad_kernel + kernel_size(g), 0.0f);
    if (grad_bias != nullptr) std::fill(grad_bias, grad_bias + g.out_c, 0.0f);
    return;
  }
  if (!computes_in_bfloat16(g) && is_small_patch(g)) {
    small_patch_conv_backward_weights(g, src, grad_dst, grad_kernel, grad_bias, partial_);
    return;
  }
  const ConvolutionPrimitives& c = convolution_for(g, computes_in_bfloat16(g), false, Pass::backward);
  conv_backward_weights_from(c, g, src, conv_grad_operand(c, g, grad_dst), grad_dst, grad_kernel, grad_bias);
}

void CpuBackend::conv2d_backward(const Conv2DGeometry& g, const float* src, const float* grad_dst, const float* kernel,
                                 float* grad_src, float* grad_kernel, float* grad_bias) {
  const bool shares_operand = grad_src != nullptr && src_size(g) > 0 && dst_size(g) > 0 &&
                              (computes_in_bfloat16(g) || !is_small_patch(g));
  if (!shares_operand) {
    Backend::conv2d_backward(g, src, grad_dst, kernel, grad_src, grad_kernel, grad_bias);
    return;
  }
  // grad_dst rounded (bfloat16) and staged (Winograd's layout) once for both primitives.
  const ConvolutionPrimitives& c = convolution_for(g, computes_in_bfloat16(g), false, Pass::backward);
  const void* grad_operand = conv_grad_operand(c, g, grad_dst);
  conv_backward_data_from(c, g, grad_operand, kernel, grad_src);
  conv_backward_weights_from(c, g, src, grad_operand, grad_dst, grad_kernel, grad_bias);
}

}  // namespace regula::backend
