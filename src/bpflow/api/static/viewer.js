// The 3D scene viewer: the scene's GLB (converted server-side from usd/scene.usda) in three.js,
// vendored in the package. Orbit/zoom/pan with the mouse, object names on hover, a physics
// colliders toggle. The loaded scene graph is published as window.bpflowViewer so tests (and
// curious operators in the console) can see what was drawn.
import * as THREE from "./vendor/three/three.module.js";
import { OrbitControls } from "./vendor/three/addons/controls/OrbitControls.js";
import { GLTFLoader } from "./vendor/three/addons/loaders/GLTFLoader.js";

const host = document.getElementById("viewer");
const tip = document.getElementById("viewer-tip");
const status = document.getElementById("viewer-status");
const toggle = document.getElementById("toggle-colliders");
const api = { ready: false, error: null, objects: [], meshes: 0, colliders: 0, collidersVisible: false };
window.bpflowViewer = api;

function fail(message) {
  api.error = message;
  host.dataset.state = "error";
  status.textContent = message;
}

let renderer;
try {
  renderer = new THREE.WebGLRenderer({ antialias: true, preserveDrawingBuffer: true });
} catch (err) {
  fail("this browser cannot draw WebGL: " + err.message);
  throw err;
}
renderer.setPixelRatio(window.devicePixelRatio || 1);
host.appendChild(renderer.domElement);

const scene = new THREE.Scene();
scene.background = new THREE.Color(0xf1f5f9);
scene.add(new THREE.HemisphereLight(0xffffff, 0x8d8a84, 1.6));
const sun = new THREE.DirectionalLight(0xffffff, 1.8);
sun.position.set(4, 8, 5);
scene.add(sun);
const camera = new THREE.PerspectiveCamera(45, 1, 0.01, 500);
const controls = new OrbitControls(camera, renderer.domElement);
controls.enableDamping = false;

const colliderMaterial = new THREE.MeshBasicMaterial({ color: 0x16a34a, wireframe: true, transparent: true, opacity: 0.75 });
const overlays = [];   // wireframes over visual meshes that collide with their own shape
const proxies = [];    // guide-purpose collision meshes
const walls = [];      // the room's walls, hidden when they stand between the camera and the scene
const pickable = [];
const centre = new THREE.Vector3();

function size() {
  const w = host.clientWidth, h = Math.max(420, Math.round(window.innerHeight * 0.62));
  renderer.setSize(w, h);
  camera.aspect = w / h;
  camera.updateProjectionMatrix();
  render();
}

function render() {
  const eye = new THREE.Vector3().subVectors(camera.position, centre).setY(0);
  for (const wall of walls) {
    const c = wall.userData.centre.clone().sub(centre).setY(0);
    wall.visible = c.dot(eye) <= 0;  // cut away the near walls, as in a dollhouse
  }
  renderer.render(scene, camera);
}

function setColliders(on) {
  api.collidersVisible = on;
  for (const m of proxies) m.visible = on;
  for (const m of overlays) m.visible = on;
  render();
}

function objectOf(mesh) {
  let o = mesh;
  while (o && !(o.userData && o.userData.kind)) o = o.parent;
  return o;
}

const raycaster = new THREE.Raycaster();
function pickAt(x, y) {
  const rect = renderer.domElement.getBoundingClientRect();
  const ndc = new THREE.Vector2(((x - rect.left) / rect.width) * 2 - 1, -((y - rect.top) / rect.height) * 2 + 1);
  raycaster.setFromCamera(ndc, camera);
  const hit = raycaster.intersectObjects(pickable.filter((m) => m.visible), false)[0];
  if (!hit) return null;
  const obj = objectOf(hit.object);
  return { object: obj ? obj.name : null, category: obj ? obj.userData.category : "", prim_path: hit.object.userData.prim_path || "" };
}
api.pickAt = pickAt;

api.screenPoint = function (name) {
  const obj = scene.getObjectByName(name);
  if (!obj) return null;
  const box = new THREE.Box3();
  obj.traverse((m) => { if (m.isMesh && m.userData.role === "visual") box.expandByObject(m); });
  const p = box.getCenter(new THREE.Vector3()).project(camera);
  const rect = renderer.domElement.getBoundingClientRect();
  return { x: rect.left + (p.x + 1) / 2 * rect.width, y: rect.top + (1 - p.y) / 2 * rect.height };
};

renderer.domElement.addEventListener("pointermove", (ev) => {
  const got = pickAt(ev.clientX, ev.clientY);
  if (!got || !got.object) { tip.hidden = true; return; }
  tip.hidden = false;
  tip.dataset.object = got.object;
  tip.textContent = got.object + (got.category ? " · " + got.category : "") + "\n" + got.prim_path;
  const rect = host.getBoundingClientRect();
  tip.style.left = (ev.clientX - rect.left + 14) + "px";
  tip.style.top = (ev.clientY - rect.top + 14) + "px";
});
renderer.domElement.addEventListener("pointerleave", () => { tip.hidden = true; });
controls.addEventListener("change", render);
window.addEventListener("resize", size);
if (toggle) toggle.addEventListener("change", () => setColliders(toggle.checked));

new GLTFLoader().load(host.dataset.glb, (gltf) => {
  const root = gltf.scene;
  scene.add(root);
  const rows = [];
  root.updateMatrixWorld(true);
  const groups = [];
  root.traverse((o) => { if (o.userData && o.userData.kind) groups.push(o); });
  for (const group of groups) {
    const info = { name: group.name, category: group.userData.category || "", kind: group.userData.kind || "", parts: 0, colliders: 0 };
    const meshes = [];
    group.traverse((m) => { if (m.isMesh) meshes.push(m); });
    for (const m of meshes) {
      api.meshes += 1;
      if (m.userData.role === "collider") {
        info.colliders += 1;
        m.material = colliderMaterial;
        m.visible = false;
        proxies.push(m);
        continue;
      }
      info.parts += 1;
      pickable.push(m);
      if (m.userData.collides) {
        info.colliders += 1;
        const wire = new THREE.Mesh(m.geometry, colliderMaterial);
        wire.visible = false;
        wire.raycast = () => {};
        m.add(wire);
        overlays.push(wire);
      }
      if (info.kind === "room") {
        const box = new THREE.Box3().setFromObject(m);
        const s = box.getSize(new THREE.Vector3());
        if (s.y > 0.5) { m.userData.centre = box.getCenter(new THREE.Vector3()); walls.push(m); }
      }
    }
    api.colliders += info.colliders;
    rows.push(info);
  }
  api.objects = rows;
  // frame the furniture (the room around it is large and mostly empty)
  const box = new THREE.Box3();
  for (const m of pickable) if (objectOf(m) && objectOf(m).userData.kind !== "room") box.expandByObject(m);
  if (box.isEmpty()) box.setFromObject(root);
  box.getCenter(centre);
  const radius = Math.max(box.getSize(new THREE.Vector3()).length() / 2, 0.5);
  controls.target.copy(centre);
  camera.position.copy(centre).add(new THREE.Vector3(1, 1.15, 1.35).normalize().multiplyScalar(radius * 1.9));
  camera.near = radius / 100; camera.far = radius * 60; camera.updateProjectionMatrix();
  controls.update();
  const tbody = document.querySelector("#viewer-objects tbody");
  for (const r of rows) {
    const tr = document.createElement("tr");
    tr.dataset.object = r.name;
    for (const v of [r.name, r.category, r.parts, r.colliders]) { const td = document.createElement("td"); td.textContent = v; tr.appendChild(td); }
    tbody.appendChild(tr);
  }
  host.dataset.objects = rows.map((r) => r.name).join(" ");
  status.textContent = rows.length + " objects · " + api.meshes + " meshes · " + api.colliders + " colliders";
  size();
  api.ready = true;
  host.dataset.state = "ready";
}, undefined, (err) => fail("the scene did not load: " + (err && err.message ? err.message : err)));
size();
